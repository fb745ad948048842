"""Options of the ``neutron`` network driver: how to reach Neutron.

The ``[neutron]`` section is keystoneauth's, as in Nova: an auth plugin
with service credentials (``auth_type``, ``auth_url``, user, project...),
session options (``timeout``, TLS) and adapter options (``service_type``,
``region_name``, ``endpoint_override``, ``connect_retries``,
``status_code_retries``). For a Neutron running with ``auth_strategy =
noauth``, set ``auth_type = none`` and ``endpoint_override``.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'neutron'
SERVICE_TYPE = 'network'
# Seconds before a call to Neutron is abandoned: never wait forever.
DEFAULT_TIMEOUT = 30

neutron_group = cfg.OptGroup(
    GROUP,
    title='Neutron options',
    help="""
How the ``neutron`` network driver (``[network] driver = neutron``) reaches
Neutron: keystoneauth auth plugin, session and adapter options.
""")


def register_opts(conf):
    """Register [neutron]; again is harmless (the options are equal)."""
    conf.register_group(neutron_group)
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)
    conf.set_default('service_type', SERVICE_TYPE, group=GROUP)
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=GROUP)


def _with_defaults(opts):
    result = []
    for opt in opts:
        if opt.dest in ('service_type', 'timeout'):
            opt = copy.deepcopy(opt)
            opt.default = (SERVICE_TYPE if opt.dest == 'service_type'
                           else DEFAULT_TIMEOUT)
        result.append(opt)
    return result


def list_opts():
    return {neutron_group: _with_defaults(
        ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options('password')
        + ks_loading.get_adapter_conf_options(include_deprecated=False))}
