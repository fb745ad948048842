"""Option listing for oslo-config-generator (the oslo.config.opts entry point)."""

from oslo_db import options as db_options
from oslo_policy import opts as policy_opts

from interface_attach import conf
from interface_attach.conf import api
from interface_attach.conf import network


def list_opts():
    return [(group, opts)
            for module in (api, network)
            for group, opts in module.list_opts().items()]


def set_lib_defaults():
    """Our defaults for library options, for the sample config."""
    db_options.set_defaults(
        db_options.cfg.CONF, connection=conf.DEFAULT_DB_CONNECTION)
    policy_opts.set_defaults(policy_opts.cfg.CONF, policy_file='policy.yaml')
