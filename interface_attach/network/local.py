"""The ``local`` network driver: ports and addresses in our own database."""

from interface_attach.db import networks
from interface_attach import exception
from interface_attach.network import base


def port_status(server):
    """A bound port is ACTIVE while its server runs, DOWN otherwise."""
    return 'ACTIVE' if server.vm_state == 'active' else 'DOWN'


def device_owner(server):
    return 'compute:%s' % server.availability_zone


class LocalDriver(base.NetworkDriver):

    shares_database = True

    def __init__(self, conf, database):
        super().__init__(conf, database)
        self.store = networks.NetworkStore(
            database, address_window=conf.network.address_window)

    def get_port(self, port_id):
        return _port(*self.store.get_port(port_id))

    def list_server_ports(self, server):
        return [_port(row, fixed_ips) for row, fixed_ips in
                self.store.list_ports_with_ips(device_id=server.id)]

    def get_network(self, network_id, project_id):
        row = self.store.get_network(network_id)
        if not (row.shared or row.project_id == project_id):
            raise exception.NetworkNotFound(network_id=network_id)
        return _network(row)

    def list_available_networks(self, project_id):
        return [_network(row) for row in self.store.list_networks(
            project_id, include_shared=True)]

    def claim_port(self, port, server):
        return _port(*self.store.claim_port(
            port.id, server.id, device_owner(server), port_status(server)))

    def create_port(self, port_id, network, server, fixed_ip=None):
        return _port(*self.store.create_port(
            server.project_id, network.id, fixed_ip=fixed_ip,
            port_id=port_id, device_id=server.id,
            device_owner=device_owner(server), status=port_status(server)))

    def release_port(self, port_id, server):
        self.store.release_port(port_id, server.id)

    def delete_port(self, port_id):
        try:
            self.store.delete_port(port_id, bound_ok=True)
        except exception.PortNotFound:
            pass

    def server_state_changed(self, server):
        """Keep bound ports' status in step with the server."""
        self.store.set_device_status(server.id, port_status(server))


def _port(row, fixed_ips):
    return base.Port(
        id=row.id, project_id=row.project_id, network_id=row.network_id,
        mac_address=row.mac_address, device_id=row.device_id,
        status=row.status, fixed_ips=tuple(fixed_ips))


def _network(row):
    return base.Network(id=row.id, project_id=row.project_id, name=row.name,
                        shared=row.shared)
