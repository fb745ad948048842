"""Configuration: register the options on a ConfigOpts that is passed in."""

from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
from oslo_policy import opts as policy_opts

from interface_attach.conf import api
from interface_attach.conf import compute
from interface_attach.conf import database
from interface_attach.conf import network
from interface_attach.conf import recovery

DEFAULT_DB_CONNECTION = 'sqlite:///interface-attach.sqlite'
PROJECT = 'interface-attach'


def new_conf(args=(), config_files=None, config_dirs=None):
    """A ConfigOpts with our options registered, parsed."""
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf(list(args), project=PROJECT, default_config_files=config_files,
         default_config_dirs=config_dirs, validate_default_values=True)
    return conf


def register_opts(conf):
    """Register our options and the libraries' on ``conf``.

    To avoid global configuration a ConfigOpts must be passed in; only the
    paste and command-line boundaries create one. The ``neutron`` driver
    registers ``[neutron]`` itself: keystoneauth's options cost a tenth of
    a second to import, for every call of interface-attach-manage.
    """
    api.register_opts(conf)
    compute.register_opts(conf)
    database.register_opts(conf)
    network.register_opts(conf)
    recovery.register_opts(conf)
    db_options.set_defaults(conf, connection=DEFAULT_DB_CONNECTION)
    conf.set_default('max_retries', database.MAX_RETRIES, group='database')
    conf.set_default('retry_interval', database.RETRY_INTERVAL,
                     group='database')
    policy_opts.set_defaults(conf, policy_file='policy.yaml')
    logging.register_options(conf)
