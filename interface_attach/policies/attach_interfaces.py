"""Rules of the os-interface resource; the target is the server's project."""

from oslo_policy import policy

from interface_attach.policies import base

PREFIX = 'os_compute_api:os-attach-interfaces:%s'
LIST = PREFIX % 'list'
SHOW = PREFIX % 'show'
CREATE = PREFIX % 'create'
DELETE = PREFIX % 'delete'

_COLLECTION = '/servers/{server_id}/os-interface'
_MEMBER = '/servers/{server_id}/os-interface/{port_id}'

rules = [
    policy.DocumentedRuleDefault(
        name=LIST,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description='List the interfaces attached to a server.',
        operations=[{'method': 'GET', 'path': _COLLECTION}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description='Show an interface attached to a server.',
        operations=[{'method': 'GET', 'path': _MEMBER}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=CREATE,
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description='Attach an interface to a server.',
        operations=[{'method': 'POST', 'path': _COLLECTION}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=DELETE,
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description='Detach an interface from a server.',
        operations=[{'method': 'DELETE', 'path': _MEMBER}],
        scope_types=['project']),
]


def list_rules():
    return rules
