"""The policy enforcer: built once per application from a ConfigOpts."""

import time

from oslo_config import cfg
from oslo_policy import policy

from interface_attach import conf as ia_conf
from interface_attach import exception
from interface_attach import policies

# Seconds between two looks for a changed policy file.
RELOAD_CHECK_INTERVAL = 5


class Policy:
    """Authorize actions of a request context against a target."""

    def __init__(self, conf):
        self.enforcer = make_enforcer(conf)

    def authorize(self, context, action, target):
        """:raises PolicyNotAuthorized: the rule denies ``action``."""
        try:
            self.enforcer.authorize(action, target, context, do_raise=True,
                                    exc=exception.PolicyNotAuthorized,
                                    action=action)
        except policy.InvalidScope:
            raise exception.PolicyNotAuthorized(action=action)

    def is_admin(self, context):
        return self.enforcer.authorize('context_is_admin', {}, context)


class _Enforcer(policy.Enforcer):
    """An enforcer that looks for policy file changes every few seconds.

    oslo.policy looks on every check, searching the configuration
    directories when there is no policy file: most of the cost of a policy
    check, twice per request.
    """

    def __init__(self, *args, **kwargs):
        self._next_look = 0.0
        super().__init__(*args, **kwargs)

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if force_reload or now >= self._next_look:
            super().load_rules(force_reload)
            self._next_look = now + RELOAD_CHECK_INTERVAL


def make_enforcer(conf):
    enforcer = _Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """For the oslopolicy-* tools (the oslo.policy.enforcer entry point)."""
    conf = cfg.ConfigOpts()
    ia_conf.register_opts(conf)
    conf([], project='interface-attach')
    return make_enforcer(conf)
