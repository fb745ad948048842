"""Options of the compute layer: where servers come from, and who attaches."""

from oslo_config import cfg

compute_group = cfg.OptGroup(
    'compute',
    title='Compute options',
    help='Where servers are looked up and who attaches their interfaces.')

compute_opts = [
    cfg.StrOpt(
        'backend', default='local', choices=[
            ('local', "servers in the service's own database; the network "
                      "driver of [network] attaches"),
            ('nova', "Nova's instances, for the filter inside nova-api's "
                     "process; Nova's compute service attaches and "
                     "detaches (nova-compute plugs the port into the "
                     "guest), the network driver of [network] (neutron) "
                     "is read for the checks made before")],
        help="""
Where servers come from and who attaches. ``nova`` needs the filter to run
inside nova-api (its paste pipeline, after ``keystonecontext``), Nova
installed beside this package and ``[network] driver = neutron``; it uses
Nova's policy (nova.conf's ``[oslo_policy]``) and Nova's RPC timeout
(nova.conf's ``rpc_response_timeout``) as the bound of an attach.
"""),
]


def register_opts(conf):
    conf.register_group(compute_group)
    conf.register_opts(compute_opts, group=compute_group)


def list_opts():
    return {compute_group: compute_opts}
