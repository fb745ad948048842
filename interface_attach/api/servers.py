"""Handlers of the server reads clients use to resolve a server.

openstackclient and novaclient look a server up by id (``GET
/servers/{id}``) and by name (``GET /servers/detail?name=``) before they
attach; in filter mode the compute API behind us answers these instead.
"""

from interface_attach.api import faults
from interface_attach.api import validation
from interface_attach.policies import servers as policies

# Nova's vm_state -> server status.
STATUS = {
    'active': 'ACTIVE', 'building': 'BUILD', 'paused': 'PAUSED',
    'suspended': 'SUSPENDED', 'stopped': 'SHUTOFF', 'rescued': 'RESCUE',
    'resized': 'VERIFY_RESIZE', 'soft-deleted': 'SOFT_DELETED',
    'deleted': 'DELETED', 'error': 'ERROR', 'shelved': 'SHELVED',
    'shelved_offloaded': 'SHELVED_OFFLOADED',
}


def show_server(services, call, server_id):
    """GET /servers/{server_id}: 200 {"server": {...}}."""
    server = services.compute.get_server(call.context, server_id)
    services.policy.authorize(call.context, policies.SHOW,
                              {'project_id': server.project_id})
    return faults.json_response(200, {'server': _view(call.req, server)})


def list_servers_detail(services, call):
    """GET /servers/detail[?name=]: the caller's project's servers."""
    # The query first, as Nova's query schema comes before its policy.
    name = validation.query_parameter(call.req, 'name')
    context = call.context
    services.policy.authorize(context, policies.DETAIL,
                              {'project_id': context.project_id})
    found = services.compute.servers.list(project_id=context.project_id,
                                          name=name)
    return faults.json_response(
        200, {'servers': [_view(call.req, server) for server in found]})


def _timestamp(value):
    return value.strftime('%Y-%m-%dT%H:%M:%SZ') if value else None


def _view(req, server):
    path = req.path_info.split('/servers', 1)[0]
    href = '%s%s/servers/%s' % (req.application_url, path, server.id)
    return {
        'id': server.id,
        'name': server.name,
        'status': STATUS.get(server.vm_state, 'UNKNOWN'),
        'tenant_id': server.project_id,
        'user_id': server.user_id,
        'locked': server.locked,
        'created': _timestamp(server.created_at),
        'updated': _timestamp(server.updated_at or server.created_at),
        'OS-EXT-STS:vm_state': server.vm_state,
        'OS-EXT-STS:task_state': server.task_state,
        'OS-EXT-AZ:availability_zone': server.availability_zone,
        'OS-SRV-USG:launched_at': _timestamp(server.launched_at),
        'links': [{'rel': 'self', 'href': href},
                  {'rel': 'bookmark', 'href': href}],
    }
