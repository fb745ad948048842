"""Rules of the server reads that clients use to resolve a server."""

from oslo_policy import policy

from interface_attach.policies import base

SHOW = 'os_compute_api:servers:show'
DETAIL = 'os_compute_api:servers:detail'

rules = [
    policy.DocumentedRuleDefault(
        name=SHOW,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description='Show a server.',
        operations=[{'method': 'GET', 'path': '/servers/{server_id}'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        name=DETAIL,
        check_str=base.PROJECT_READER_OR_ADMIN,
        description='List the servers of the project, with details.',
        operations=[{'method': 'GET', 'path': '/servers/detail'}],
        scope_types=['project']),
]


def list_rules():
    return rules
