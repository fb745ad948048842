"""Options of the network layer: which driver attaches ports, and its rules."""

from oslo_config import cfg

network_group = cfg.OptGroup(
    'network',
    title='Network options',
    help='The network driver that creates, claims and releases ports.')

network_opts = [
    cfg.StrOpt(
        'driver', default='local',
        help="""
Network driver, by its name in the ``interface_attach.network_drivers``
entry point namespace: ``local`` keeps networks, subnets, ports and IP
allocations in the service's own database; ``neutron`` uses a real Neutron
(see the ``[neutron]`` section); ``noop`` supports nothing, so every attach
answers 501.
"""),
    cfg.BoolOpt(
        'allow_duplicate_networks', default=False,
        help="""
Allow a server to have more than one port on the same network. When False
an attach that would add a second port on a network the server already uses
is refused with 400, enforced by a unique constraint in the database.
"""),
    cfg.IntOpt(
        'address_window', default=128, min=1,
        help="""
The ``local`` driver gives a port created without a fixed IP a random one
of this many free addresses of its subnet: the lowest free ones at or above
the subnet's this-many highest held addresses (the lowest of the subnet
once its end is near). Attaches racing on one subnet then seldom pick the
same address, as with Neutron's IPAM (random among the lowest 1000): a
collision costs the loser a retry, and through several Galera nodes a retry
of its whole transaction. Each pick reads at most this many of the
subnet's addresses, until its end is near. 1 gives the address after the
highest held, then the lowest free, in order.
"""),
]


def register_opts(conf):
    conf.register_group(network_group)
    conf.register_opts(network_opts, group=network_group)


def list_opts():
    return {network_group: network_opts}
