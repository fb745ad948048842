"""Demo data for the embedded default: the ids of the spec's example.

With it, the spec's Execution Example (attach port c20c7086-... to server
b6d94eb6-... of project e4ee5a9b...) works as shown in README.rst.
"""

from interface_attach.db import networks
from interface_attach.db import servers
from interface_attach import exception

PROJECT_ID = 'e4ee5a9bdf934e35b62c8b995152feee'
SERVER_ID = 'b6d94eb6-0759-4277-892e-fae5fd8ca8bd'
NETWORK_ID = 'e7372598-ff0f-4013-84b5-82b0e3641f7a'
SUBNET_ID = '3b6e6d1f-848b-489f-ac16-69801915c65d'
PORT_ID = 'c20c7086-eb16-4b3b-96e4-4da2f5037bcf'


def create_demo_data(database):
    """Create what is missing of the demo data; True if anything was."""
    network_store = networks.NetworkStore(database)
    server_store = servers.ServerStore(database)
    try:
        server_store.get(SERVER_ID)
        return False
    except exception.ServerNotFound:
        pass
    network_store.create_network(PROJECT_ID, 'demo-net',
                                 network_id=NETWORK_ID)
    network_store.create_subnet(NETWORK_ID, '10.0.0.0/24',
                                subnet_id=SUBNET_ID)
    network_store.create_port(PROJECT_ID, NETWORK_ID, port_id=PORT_ID)
    server_store.create(PROJECT_ID, 'demo-server', server_id=SERVER_ID,
                        user_id='demo', host='localhost')
    return True
