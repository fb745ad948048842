"""Configuration: register every option on a ConfigOpts that is passed in."""

from oslo_db import options as db_options
from oslo_log import log as logging
from oslo_policy import opts as policy_opts

from interface_attach.conf import api
from interface_attach.conf import compute
from interface_attach.conf import network
from interface_attach.conf import neutron
from interface_attach.conf import recovery

DEFAULT_DB_CONNECTION = 'sqlite:///interface-attach.sqlite'


def register_opts(conf):
    """Register our options and the libraries' on ``conf``.

    To avoid global configuration a ConfigOpts must be passed in; only the
    paste and command-line boundaries create one.
    """
    api.register_opts(conf)
    compute.register_opts(conf)
    network.register_opts(conf)
    neutron.register_opts(conf)
    recovery.register_opts(conf)
    db_options.set_defaults(conf, connection=DEFAULT_DB_CONNECTION)
    policy_opts.set_defaults(conf, policy_file='policy.yaml')
    logging.register_options(conf)
