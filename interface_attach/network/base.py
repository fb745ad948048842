"""The network driver interface the compute service calls.

A driver owns ports, networks and addresses. Every method may raise
``NotImplementedError``: the API then answers 501, as Nova does for a
network back end that cannot attach interfaces.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Network:
    id: str
    project_id: str
    name: str
    shared: bool


@dataclasses.dataclass(frozen=True)
class Port:
    id: str
    project_id: str
    network_id: str
    mac_address: str
    device_id: str
    status: str
    fixed_ips: tuple  # of {'subnet_id': ..., 'ip_address': ...}


class NetworkDriver:
    """Base class; a method a driver does not override is unsupported."""

    #: The driver keeps its ports in the service's own database, writing
    #: them through the stores: an attach or a detach is then one
    #: transaction with its attachment. Otherwise the attachment is
    #: reserved first and confirmed after, so that recovery can finish or
    #: undo what a crash interrupted.
    shares_database = False

    def __init__(self, conf, database):
        self.conf = conf

    def get_port(self, port_id):
        """The port, whoever owns it. :raises PortNotFound:"""
        raise NotImplementedError()

    def list_server_ports(self, server):
        """The ports bound to ``server`` (device_id), oldest first."""
        raise NotImplementedError()

    def get_network(self, network_id, project_id):
        """A network ``project_id`` may use (its own or a shared one).

        :raises NetworkNotFound: absent or not visible to the project.
        """
        raise NotImplementedError()

    def list_available_networks(self, project_id):
        """The networks an attach with no network may pick from."""
        raise NotImplementedError()

    def claim_port(self, port, server):
        """Bind a free port to ``server``, atomically.

        :returns: the bound Port. :raises PortInUse: it was not free.
        """
        raise NotImplementedError()

    def create_port(self, port_id, network, server, fixed_ip=None):
        """Create a port with id ``port_id`` on ``network``, bound.

        :returns: the Port.
        :raises FixedIpAlreadyInUse, FixedIpInvalidForNetwork,
            NoMoreFixedIps:
        """
        raise NotImplementedError()

    def release_port(self, port_id, server):
        """Unbind a port if ``server`` holds it; no error if it does not."""
        raise NotImplementedError()

    def delete_port(self, port_id):
        """Delete a port; no error if it is already gone."""
        raise NotImplementedError()
