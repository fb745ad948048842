"""Paste deploy factories: the boundary where configuration is loaded.

Every factory of one pipeline gets the same ConfigOpts, parsed from the
files named by ``config_file`` (several joined with ``os.pathsep``) and
``config_dir`` in the paste global or local configuration, else from the
default locations of project ``interface-attach``. Below this module,
configuration is always passed in.
"""

import contextlib
import os

from keystonemiddleware import auth_token

from interface_attach.api import microversion
from interface_attach.api import router
from interface_attach.api import versions
from interface_attach import compute
from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.middleware import context
from interface_attach.middleware import fault_wrap
from interface_attach.middleware import noauth
from interface_attach.middleware import request_id
from interface_attach.middleware import sizelimit
from interface_attach import network
from interface_attach import policy
from interface_attach import recovery

_confs = {}


class Services:
    """What the handlers use.

    The compute service, the policy, the highest microversion served on
    /v2.1, and how a GET's reads are grouped (``read``).
    """

    def __init__(self, conf):
        self.database = engine.Database(conf.database, create=False)
        driver = network.load_driver(conf, self.database)
        duplicates = conf.network.allow_duplicate_networks
        if conf.compute.backend == 'nova':
            # Nova is an optional dependency: imported in this mode only.
            from interface_attach.nova import compute as nova_compute
            self.compute = nova_compute.NovaComputeService(
                self.database, driver, duplicates,
                late_attach_window=conf.recovery.stale_after)
            self.policy = nova_compute.NovaPolicy()
            self.max_version = nova_compute.max_microversion()
            # A GET reads Neutron and Nova only, nothing of ours.
            self.read_snapshot = contextlib.nullcontext
        else:
            self.compute = compute.ComputeService(self.database, driver,
                                                  duplicates)
            self.policy = policy.Policy(conf)
            self.max_version = microversion.MAX_VERSION
            self.read_snapshot = self.database.snapshot

    def read(self, handler, *args, **kwargs):
        """A GET's handler, its reads in one snapshot.

        Run once more if that snapshot met a dead pooled connection: a
        GET writes nothing, so it may always run again.
        """
        def in_snapshot():
            with self.read_snapshot():
                return handler(self, *args, **kwargs)
        return engine.once_more_if_stale(in_snapshot)


def load_conf(global_conf, local_conf):
    settings = dict(global_conf, **local_conf)
    files = settings.get('config_file') or None
    dirs = settings.get('config_dir') or None
    key = (files, dirs)
    if key not in _confs:
        _confs[key] = ia_conf.new_conf(
            config_files=files.split(os.pathsep) if files else None,
            config_dirs=dirs.split(os.pathsep) if dirs else None)
    return _confs[key]


def app_factory(global_conf, **local_conf):
    """The standalone app: os-interface routes, a JSON 404 for the rest."""
    return router.Router(Services(load_conf(global_conf, local_conf)))


def filter_factory(global_conf, **local_conf):
    """The filter: os-interface routes; every other request passes on.

    The host's processes run no recovery of ours: each process that loads
    the filter runs the periodic pass (it drops the claims a killed worker
    left, which would refuse their ports).
    """
    conf = load_conf(global_conf, local_conf)
    services = Services(conf)
    recovery.start_periodic(conf, services)

    def _filter(app):
        return router.Router(services, next_app=app)
    return _filter


def request_id_filter_factory(global_conf, **local_conf):
    return request_id.ComputeRequestId


def faultwrap_filter_factory(global_conf, **local_conf):
    return fault_wrap.FaultWrapper


def sizelimit_filter_factory(global_conf, **local_conf):
    conf = load_conf(global_conf, local_conf)

    def _filter(app):
        return sizelimit.RequestBodySizeLimiter(app, conf)
    return _filter


def versions_filter_factory(global_conf, **local_conf):
    return versions.VersionsFilter


def authtoken_filter_factory(global_conf, **local_conf):
    """keystonemiddleware auth_token, reading [keystone_authtoken] from ours.

    Options in the paste section override the configuration file, as with
    keystonemiddleware's own factory.
    """
    settings = dict(local_conf,
                    oslo_config_config=load_conf(global_conf, local_conf))
    settings.pop('config_file', None)
    settings.pop('config_dir', None)

    def _filter(app):
        return auth_token.AuthProtocol(app, settings)
    return _filter


def noauth_filter_factory(global_conf, **local_conf):
    conf = load_conf(global_conf, local_conf)
    if conf.api.auth_strategy != 'noauth':
        raise ValueError('The noauth filter needs [api] auth_strategy = '
                         'noauth; it trusts any token and is for development '
                         'only.')
    return noauth.NoAuth


def context_filter_factory(global_conf, **local_conf):
    return context.ContextMiddleware
