"""Options for oslo-config-generator (the oslo.config.opts entry points)."""

from oslo_config import cfg
from oslo_db import options as db_options

from interface_attach import conf
from interface_attach.conf import api
from interface_attach.conf import compute
from interface_attach.conf import database
from interface_attach.conf import network
from interface_attach.conf import neutron
from interface_attach.conf import recovery


def list_opts():
    return [(group, opts)
            for module in (api, compute, database, network, neutron,
                           recovery)
            for group, opts in module.list_opts().items()]


def set_lib_defaults():
    """Show our default for library options in the sample config."""
    cfg.set_defaults(db_options.database_opts,
                     connection=conf.DEFAULT_DB_CONNECTION,
                     max_retries=database.MAX_RETRIES,
                     retry_interval=database.RETRY_INTERVAL)
