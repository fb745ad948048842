"""Policy defaults in code (the oslo.policy.policies entry point)."""

import itertools

from interface_attach.policies import attach_interfaces
from interface_attach.policies import base
from interface_attach.policies import servers


def list_rules():
    return list(itertools.chain(base.list_rules(),
                                attach_interfaces.list_rules(),
                                servers.list_rules()))
