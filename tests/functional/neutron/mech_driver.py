"""An agentless ML2 mechanism driver that binds every port, for tests.

Neutron with no agent cannot bind a port (``binding:vif_type`` becomes
``binding_failed``). This driver binds any host except ``unbindable``,
whose ports fail to bind, so the tests can see both outcomes.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

UNBINDABLE_HOST = 'unbindable'


class BindingMechanismDriver(api.MechanismDriver):

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        if context.host == UNBINDABLE_HOST:
            return
        for segment in context.segments_to_bind:
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_OTHER,
                                {}, status='ACTIVE')
            return
