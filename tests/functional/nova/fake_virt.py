"""Nova virt drivers for the Nova tier: the fake driver, with failures.

``AttachFakeDriver`` is Nova's ``FakeDriverWithoutFakeNodes`` (one stable
node named after the host, its uuid kept in ``state_path/compute_id``, so a
restarted nova-compute finds its node again) whose ``attach_interface``
fails, as a real driver does, by raising ``InterfaceAttachFailed`` when the
VIF's network name starts with ``fail-attach``: Nova's compute manager then
rolls the attach back (unbinds the port, or deletes the one it created) and
the API answers 500.

``NoAttachFakeDriver`` cannot hot-plug at all
(``supports_attach_interface = False``): Nova's manager refuses with
``AttachInterfaceNotSupported`` and the API answers 400. Its host is small
(4 vCPUs, 4 GiB) next to ``AttachFakeDriver``'s (1000, 800 GiB): servers
land there only when an admin forces the host.

Nova loads ``compute_driver`` as ``nova.virt.<value>`` only, so
``compute_main`` publishes this module as ``nova.virt.ia_fake_virt``.
"""

from nova import exception
from nova.virt import fake

#: Networks whose name starts with this fail every attach.
FAIL_ATTACH_PREFIX = 'fail-attach'


class AttachFakeDriver(fake.FakeDriverWithoutFakeNodes):

    def attach_interface(self, context, instance, image_meta, vif):
        network = vif.get('network') or {}
        if (network.get('label') or '').startswith(FAIL_ATTACH_PREFIX):
            raise exception.InterfaceAttachFailed(
                instance_uuid=instance.uuid)
        return super().attach_interface(context, instance, image_meta, vif)


class NoAttachFakeDriver(AttachFakeDriver):
    """A host that cannot hot-plug.

    Small, so the scheduler's weighers (most free RAM and CPU first) never
    pick it for a server with no forced host.
    """

    vcpus = 4
    memory_mb = 4096
    local_gb = 40
    capabilities = dict(AttachFakeDriver.capabilities,
                        supports_attach_interface=False,
                        supports_tagged_attach_interface=False)
