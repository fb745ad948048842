"""tempest's SSH steps, stubbed for the Nova tier's tempest runs.

A fake virt driver boots no guest, so there is nothing to SSH into or
ping: only ``RemoteClient.validate_authentication`` and
``tempest.common.compute.wait_for_ssh_or_ping`` are replaced. Every API
call, every wait for an ACTIVE server or port, and the validation
resources (key pair, security group, floating IP) stay real. Python
imports this module at start-up when this directory is on PYTHONPATH.
"""

from tempest.common import compute
from tempest.lib.common.utils.linux import remote_client


def _no_guest(*args, **kwargs):
    """The guest would answer: nothing to wait for."""


remote_client.RemoteClient.validate_authentication = _no_guest
compute.wait_for_ssh_or_ping = _no_guest
