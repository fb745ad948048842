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
]


def register_opts(conf):
    conf.register_group(network_group)
    conf.register_opts(network_opts, group=network_group)


def list_opts():
    return {network_group: network_opts}
