"""Rules of the os-interface resource; the target is the server's project."""

from oslo_policy import policy

from interface_attach.policies import base

PREFIX = 'os_compute_api:os-attach-interfaces:%s'
CREATE = PREFIX % 'create'

rules = [
    policy.DocumentedRuleDefault(
        name=CREATE,
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description='Attach an interface to a server.',
        operations=[{'method': 'POST',
                     'path': '/servers/{server_id}/os-interface'}],
        scope_types=['project']),
]


def list_rules():
    return rules
