"""Handlers of /servers/{server_id}/os-interface, one function per method.

Each handler follows Nova's order, which decides the error a caller sees
when a request has several faults: body, server, policy, cross-field
rules, lock and state, then the network.
"""

from interface_attach.api import faults
from interface_attach.api import surfaces
from interface_attach import compute
from interface_attach import exception
from interface_attach.policies import attach_interfaces as policies


def list_interfaces(services, call, server_id):
    """GET: 200 {"interfaceAttachments": [...]}."""
    call.surface.check_query(call.req, call.version)
    server = _authorized_server(services, call, server_id, policies.LIST)
    attached = services.compute.list_interfaces(server)
    return faults.json_response(200, {'interfaceAttachments': [
        _view(port, tag, call.version) for port, tag in attached]})


def show_interface(services, call, server_id, port_id):
    """GET .../{port_id}: 200 {"interfaceAttachment": {...}}, else 404."""
    call.surface.check_query(call.req, call.version)
    server = _authorized_server(services, call, server_id, policies.SHOW)
    port, tag = services.compute.show_interface(
        server, _port_id(server, port_id))
    return faults.json_response(
        200, {'interfaceAttachment': _view(port, tag, call.version)})


def create_interface(services, call, server_id):
    """POST: attach a port, or a new port on a network; 200 and the view."""
    body = call.surface.create_body(call.req, call.version)
    server = _authorized_server(services, call, server_id, policies.CREATE)

    attachment = body.get('interfaceAttachment') or {}
    network_id = compute.canonical_uuid(attachment.get('net_id'))
    port_id = compute.canonical_uuid(attachment.get('port_id'))
    fixed_ips = attachment.get('fixed_ips')
    fixed_ip = fixed_ips[0]['ip_address'] if fixed_ips else None
    if network_id and port_id:
        raise exception.NetworkAndPortGiven()
    if fixed_ip and not network_id:
        raise exception.FixedIpWithoutNetwork()

    services.compute.check_can_change_interfaces(call.context, server,
                                                 'attach_interface')
    # /v2 ignores "tag" as it ignores any unknown key; /v2.1 takes it
    # from 2.49 (the schema refuses it below).
    tag = (attachment.get('tag') if surfaces.takes_tag(call.version)
           else None)
    port = services.compute.attach_interface(
        server, network_id=network_id, port_id=port_id, fixed_ip=fixed_ip,
        tag=tag)
    return faults.json_response(
        200, {'interfaceAttachment': _view(port, tag, call.version)})


def delete_interface(services, call, server_id, port_id):
    """DELETE .../{port_id}: detach; 202 with an empty body."""
    server = _authorized_server(services, call, server_id, policies.DELETE)
    port_id = _port_id(server, port_id)
    services.compute.check_can_change_interfaces(call.context, server,
                                                 'detach_interface')
    services.compute.detach_interface(server, port_id)
    return faults.empty_response(202)


def _authorized_server(services, call, server_id, action):
    """The server (404 if not visible), then the policy on its project."""
    server = services.compute.get_server(call.context, server_id)
    services.policy.authorize(call.context, action,
                              {'project_id': server.project_id})
    return server


def _port_id(server, port_id):
    canonical = compute.canonical_uuid(port_id)
    if canonical is None:
        raise exception.PortNotAttached(server_id=server.id, port_id=port_id)
    return canonical


def _view(port, tag, version):
    view = {
        'fixed_ips': [dict(ip) for ip in port.fixed_ips],
        'mac_addr': port.mac_address,
        'net_id': port.network_id,
        'port_id': port.id,
        'port_state': port.status,
    }
    if surfaces.show_tag(version):
        view['tag'] = tag
    return view
