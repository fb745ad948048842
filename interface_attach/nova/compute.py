"""The compute service over Nova's instances and Nova's compute API.

For the filter inside nova-api's process. Servers are Nova's instances,
read with the caller's ``nova.context``; an attach or a detach is handed
to ``nova.compute.api.API``, so that nova-compute binds the port and plugs
it into the guest. What this adds to stock Nova:

- every refusal (port in use, of another project, missing; network
  missing, ambiguous or none; lock and state; compute host down) is
  answered here, before any RPC to the compute host;
- concurrent attaches of one port are serialized by a claim in our own
  database (a row keyed by the port id, held while the attach runs), and
  the port is read again under the claim, so exactly one wins: Nova's own
  check of ``device_id`` is a read before a write, and races;
- whatever a failed attach left bound or created is removed.

A port is attached when Neutron says so (its ``device_id``), as in Nova;
our rows exist only while an attach is in flight.
"""

import threading
import time

from nova.api.openstack import api_version_request
from nova.compute import api as nova_compute_api
from nova import context as nova_context
from nova import objects
from nova import servicegroup
from oslo_log import log as logging
from oslo_utils import timeutils
from oslo_utils import uuidutils

from interface_attach import compute
from interface_attach.db import attachments
from interface_attach import exception
from interface_attach.nova import errors

LOG = logging.getLogger(__name__)

# Seconds between two looks for a timed-out attach completed late.
LATE_ATTACH_POLL = 2


def max_microversion():
    """Nova's highest microversion: the filter serves the same range."""
    major, minor = api_version_request._MAX_API_VERSION.split('.')
    return int(major), int(minor)


class NovaServer:
    """A Nova instance with the attributes the checks read."""

    def __init__(self, context, instance):
        self.context = context
        self.instance = instance
        self.id = instance.uuid
        self.project_id = instance.project_id
        self.locked = instance.locked
        self.vm_state = instance.vm_state
        self.task_state = instance.task_state
        self.launched_at = instance.launched_at


class NovaPolicy:
    """Nova's own policy (nova.conf [oslo_policy]), on Nova's context."""

    def authorize(self, context, action, target):
        with errors.translated():
            context.can(action, target=target)

    @staticmethod
    def is_admin(context):
        return context.is_admin


class NovaComputeService(compute.ComputeService):

    def __init__(self, database, driver, allow_duplicate_networks,
                 late_attach_window=300, nova_api=None,
                 servicegroup_api=None):
        super().__init__(database, driver, allow_duplicate_networks)
        self.allow_duplicate_networks = allow_duplicate_networks
        self.late_attach_window = late_attach_window
        self.nova = nova_api or nova_compute_api.API()
        self.servicegroup = servicegroup_api or servicegroup.API()

    def get_server(self, context, server_id):
        """Nova's instance, if the caller may see it (Nova decides)."""
        with errors.translated():
            instance = self.nova.get(context, server_id,
                                     expected_attrs=['info_cache'])
        return NovaServer(context, instance)

    def _attach(self, server, network_id, port_id, fixed_ip, tag, known):
        """Check, claim, check again under the claim, then ask Nova."""
        if port_id is not None:
            known['network'] = network_id = self._free_port(
                server, port_id).network_id
        else:
            network = (self.driver.get_network(network_id, server.project_id)
                       if network_id is not None
                       else self._only_network(server))
            known['network'] = network_id = network.id
            if fixed_ip is not None:
                self.driver.check_fixed_ip(network_id, fixed_ip)

        owner = attachments.new_owner()
        claim = port_id or uuidutils.generate_uuid()
        watch_until = time.monotonic() + self.late_attach_window
        self.attachments.reserve(server.id, claim, network_id,
                                 port_created=port_id is None, owner=owner,
                                 tag=tag)
        timed_out = False
        try:
            if port_id is not None:
                # A rival that held the claim before us may have bound the
                # port since our first read; its bind is committed now.
                self._free_port(server, port_id)
            self._check_network_free(server, network_id)
            self._check_compute_up(server)
            vif = self._call_attach(server, network_id, port_id, fixed_ip,
                                    tag)
        except exception.ComputeTimedOut:
            timed_out = True
            raise
        finally:
            if timed_out:
                # The claim goes with the watch, which keeps the port.
                self._start_watch(server, network_id, port_id, claim, owner,
                                  watch_until)
            else:
                self.attachments.remove(claim, owner)
        known['port'] = vif['id']
        return self.driver.get_port(vif['id'])

    def _free_port(self, server, port_id):
        port = self.driver.get_port(port_id)
        if port.project_id != server.project_id:
            raise exception.PortNotUsable(port_id=port_id,
                                          server_id=server.id)
        if port.device_id:
            raise exception.PortInUse(port_id=port_id)
        return port

    def _check_network_free(self, server, network_id):
        """Refuse a second port on the network while duplicates are off.

        Read under the claim, whose network guard keeps out any other
        attach of this server to this network meanwhile: so a port of the
        server on the network that appears later is this attach's.
        """
        if self.allow_duplicate_networks:
            return
        if any(port.network_id == network_id
               for port in self.driver.list_server_ports(server)):
            raise exception.NetworkDuplicated(network_id=network_id,
                                              server_id=server.id)

    def _check_compute_up(self, server):
        """503 before the RPC when the compute host is known to be down.

        A call to a dead host would wait the whole RPC timeout.
        """
        # The instance was read in its cell's context; so is its host.
        cell_context = server.instance._context.elevated()
        try:
            service = objects.Service.get_by_compute_host(
                cell_context, server.instance.host)
        except Exception:
            LOG.warning('No compute service found for host %s of server '
                        '%s', server.instance.host, server.id)
            raise exception.ServiceUnavailable(service='compute')
        if not self.servicegroup.service_is_up(service):
            raise exception.ServiceUnavailable(service='compute')

    def _call_attach(self, server, network_id, port_id, fixed_ip, tag):
        try:
            with errors.translated('attach_interface', server.id):
                return self.nova.attach_interface(
                    server.context, server.instance, network_id, port_id,
                    fixed_ip, tag=tag)
        except BaseException:
            self._clean_up_attach(server, network_id, port_id)
            raise

    def _start_watch(self, server, network_id, port_id, claim, owner,
                     until):
        threading.Thread(
            target=self._undo_late_attach,
            args=(server, network_id, port_id, claim, owner, until),
            name='interface-attach-late-attach', daemon=True).start()

    def _undo_late_attach(self, server, network_id, port_id, claim, owner,
                          until):
        """Detach again what an attach nobody got a 200 for did after all.

        The caller got a 503 for an attach whose message nova-compute may
        already hold (a host frozen with it, say) and act on when it runs
        again; or the worker that made the call died. Until ``until``
        (``late_attach_window`` after the claim), the port that attach
        binds or creates is watched for, and detached through Nova.
        """
        try:
            while True:
                late_port = self._left_by_attach(server, network_id, port_id)
                if late_port is not None:
                    LOG.warning('An attach of port %s to server %s that got '
                                'no 200 completed late: detaching it',
                                late_port, server.id)
                    with errors.translated('detach_interface', server.id):
                        self.nova.detach_interface(
                            server.context, server.instance, late_port)
                    return
                if time.monotonic() >= until:
                    return
                time.sleep(LATE_ATTACH_POLL)
        except Exception:
            LOG.exception('Could not undo a late attach to server %s',
                          server.id)
        finally:
            self.attachments.remove(claim, owner)

    def _left_by_attach(self, server, network_id, port_id):
        """The port a failed attach bound or created, if it did, else None.

        A port of the server on the network is surely the attach's only
        while duplicates are off (see ``_check_network_free``).
        """
        if port_id is not None:
            bound = self.driver.get_port(port_id).device_id == server.id
            return port_id if bound else None
        if self.allow_duplicate_networks:
            return None
        for port in self.driver.list_server_ports(server):
            if port.network_id == network_id:
                return port.id
        return None

    def _clean_up_attach(self, server, network_id, port_id):
        """Remove what a failed attach left: Nova's rollback, verified.

        Nova's compute manager undoes a failed hot-plug itself; a compute
        host that died or timed out in the middle does not.
        """
        try:
            left = self._left_by_attach(server, network_id, port_id)
            if left is not None:
                LOG.warning('Attach to server %s failed and left port %s: '
                            '%s', server.id, left,
                            'unbinding' if port_id else 'deleting')
                self.release(server, left, port_created=port_id is None)
        except Exception:
            LOG.exception('Could not verify the rollback of a failed attach '
                          'to server %s', server.id)

    def list_interfaces(self, server):
        """[(port, tag)] of the ports Neutron has bound to the server."""
        ports = self.driver.list_server_ports(server)
        vifs = objects.VirtualInterfaceList.get_by_instance_uuid(
            server.context, server.id)
        tags = {vif.uuid: vif.tag for vif in vifs}
        return [(port, tags.get(port.id)) for port in ports]

    def show_interface(self, server, port_id):
        """(port, tag) of a port bound to the server, else 404."""
        port = self._attached_port(server, port_id)
        vif = objects.VirtualInterface.get_by_uuid(server.context, port_id)
        return port, vif.tag if vif else None

    def detach_interface(self, server, port_id):
        """Hand the detach to Nova (a cast: nova-compute unbinds later).

        Until nova-compute has unbound it, the port's ``device_id`` still
        names this server, so no attach elsewhere can take it meanwhile.
        """
        port = self._attached_port(server, port_id)
        try:
            with errors.translated('detach_interface', server.id):
                self.nova.detach_interface(server.context, server.instance,
                                           port_id)
        except exception.InterfaceAttachError:
            raise
        except Exception:
            LOG.exception('Detach of port %(port)s from server %(server)s '
                          'failed', {'port': port_id, 'server': server.id})
            raise exception.DetachFailed(server_id=server.id)
        LOG.info('Detach interface: server %(server)s port %(port)s network '
                 '%(network)s: requested',
                 {'server': server.id, 'port': port_id,
                  'network': port.network_id})

    def _attached_port(self, server, port_id):
        try:
            port = self.driver.get_port(port_id)
        except exception.PortNotFound as e:
            # Nova's words; a 404 on every surface, as for a port that is
            # not this server's.
            raise exception.PortNotAttached(message=e.message)
        if port.device_id != server.id:
            raise exception.PortNotAttached(server_id=server.id,
                                            port_id=port_id)
        return port

    def recover(self, row, owner):
        """Watch on for the attach of a claim whose worker died.

        Its caller never got a 200, and nova-compute may still act on the
        call (or has, after the worker's death): as the worker's own watch
        would have, this process detaches what that attach binds or
        creates until ``late_attach_window`` after the claim.
        """
        context = nova_context.get_admin_context()
        try:
            server = self.get_server(context, row.server_id)
        except exception.ServerNotFound:
            self.attachments.remove(row.port_id, owner)
            return 'dropped the claim of a deleted server'
        age = (timeutils.utcnow() - row.created_at).total_seconds()
        until = time.monotonic() + self.late_attach_window - age
        self._start_watch(server, row.network_id,
                          None if row.port_created else row.port_id,
                          row.port_id, owner, until)
        return 'watching for the attach'
