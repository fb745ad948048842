"""Nova's exceptions, raised in-process or over RPC, as our domain's.

Nova's compute API raises its exceptions raw (a locked server is
``InstanceIsLocked`` with code 400, where Nova's controller answers 409),
and oslo.messaging re-raises a compute host's as subclasses of the same
classes. They become ours here, keeping Nova's message, so that each API
surface maps them to a status in its one table, as for any other error.
"""

import contextlib

from nova import exception as nova_exception
import oslo_messaging

from interface_attach import exception

# (Nova's class, ours); the first match wins, so subclasses come first
# (InstanceIsLocked is an InstanceInvalidState, PortInUse an Invalid).
_TRANSLATIONS = (
    (nova_exception.InstanceNotFound, exception.ServerNotFound),
    (nova_exception.InstanceIsLocked, exception.ServerLocked),
    (nova_exception.PortNotFound, exception.PortNotFound),
    (nova_exception.NetworkNotFound, exception.NetworkNotFound),
    (nova_exception.PortInUse, exception.PortInUse),
    (nova_exception.FixedIpAlreadyInUse, exception.FixedIpAlreadyInUse),
    (nova_exception.NetworkAmbiguous, exception.NetworkAmbiguous),
    (nova_exception.InterfaceAttachFailedNoNetwork,
     exception.NoNetworkAvailable),
    (nova_exception.NoMoreFixedIps, exception.NoMoreFixedIps),
    (nova_exception.PortNotUsable, exception.PortNotUsable),
    (nova_exception.PortLimitExceeded, exception.PortLimitExceeded),
    (nova_exception.AttachInterfaceNotSupported,
     exception.AttachNotSupported),
    (nova_exception.InterfaceAttachFailed, exception.AttachFailed),
    (nova_exception.Forbidden, exception.Forbidden),
    # Nova's controller answers 400 for these user errors (and for
    # NotSupported); InvalidInput (an address not on the network) it lets
    # become a 500, which a user error is not.
    (nova_exception.Invalid, exception.Invalid),
    (nova_exception.NotSupported, exception.Invalid),
    (nova_exception.NotFound, exception.NotFound),
)


@contextlib.contextmanager
def translated(action=None, server_id=None):
    """Raise Nova's errors in the block as ours; others pass unchanged.

    ``action`` and ``server_id`` word an invalid state as Nova's
    controller does: "Cannot '<action>' instance <id> while it is in ...".
    """
    try:
        yield
    except oslo_messaging.MessagingTimeout as e:
        # The compute host did not answer within nova.conf's
        # rpc_response_timeout; the call's message expires with it.
        raise exception.ComputeTimedOut() from e
    except nova_exception.InstanceInvalidState as e:
        if isinstance(e, nova_exception.InstanceIsLocked):
            raise exception.ServerLocked(message=e.format_message()) from e
        raise exception.ServerInvalidState(
            action=action, server_id=server_id, attr=e.kwargs.get('attr'),
            state=e.kwargs.get('state')) from e
    except nova_exception.NovaException as e:
        for nova_class, ours in _TRANSLATIONS:
            if isinstance(e, nova_class):
                raise ours(message=e.format_message()) from e
        raise
