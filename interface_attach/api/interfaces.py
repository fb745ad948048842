"""Handlers of /servers/{server_id}/os-interface, one function per method.

Each handler follows the same order, which decides which error a caller
sees when a request has several faults: body, server, policy, cross-field
rules, lock and state, then the network.
"""

from interface_attach.api import faults
from interface_attach.api import validation
from interface_attach import compute
from interface_attach import exception
from interface_attach.policies import attach_interfaces as policies


def create_interface(services, req, context, surface, server_id):
    """POST: attach a port, or a new port on a network; 200 and the view."""
    body = _create_body(req, surface)
    server = services.compute.get_server(context, server_id)
    services.policy.authorize(context, policies.CREATE,
                              {'project_id': server.project_id})

    attachment = body.get('interfaceAttachment') or {}
    network_id = compute.canonical_uuid(attachment.get('net_id'))
    port_id = compute.canonical_uuid(attachment.get('port_id'))
    fixed_ips = attachment.get('fixed_ips')
    fixed_ip = fixed_ips[0]['ip_address'] if fixed_ips else None
    if network_id and port_id:
        raise exception.NetworkAndPortGiven()
    if fixed_ip and not network_id:
        raise exception.FixedIpWithoutNetwork()

    services.compute.check_can_change_interfaces(context, server,
                                                 'attach_interface')
    port = services.compute.attach_interface(
        server, network_id=network_id, port_id=port_id, fixed_ip=fixed_ip)
    return faults.json_response(200, {'interfaceAttachment': _view(port)})


def _create_body(req, surface):
    body = validation.json_body(req)
    if body is None:
        body = {}
    surface.create_validator.validate(body)
    return body


def _view(port):
    return {
        'fixed_ips': [dict(ip) for ip in port.fixed_ips],
        'mac_addr': port.mac_address,
        'net_id': port.network_id,
        'port_id': port.id,
        'port_state': port.status,
    }
