"""The policy enforcer: built once per application from a ConfigOpts.

Decisions are remembered until the next look at the policy file (every
RELOAD_CHECK_INTERVAL seconds): the same caller asking the same thing of
the same target gets the same answer without evaluating the rules again.
"""

import time

from oslo_config import cfg
from oslo_policy import policy

from interface_attach import conf as ia_conf
from interface_attach import exception
from interface_attach import policies

# Seconds between two looks for a changed policy file.
RELOAD_CHECK_INTERVAL = 5
# Decisions remembered at most; more are forgotten all at once.
MAX_DECISIONS = 4096


class Policy:
    """Authorize actions of a request context against a target."""

    def __init__(self, conf):
        self.enforcer = make_enforcer(conf)

    def authorize(self, context, action, target):
        """:raises PolicyNotAuthorized: the rule denies ``action``."""
        if not self._allowed(context, action, target):
            raise exception.PolicyNotAuthorized(action=action)

    def is_admin(self, context):
        return self._allowed(context, 'context_is_admin', {})

    def _allowed(self, context, action, target):
        # Evaluating a rule costs a few checks, each inspecting its
        # function's signature: a tenth of a request, twice per request.
        decisions = self.enforcer.decisions()
        creds = context.to_policy_values()
        key = (action, _frozen(target), _frozen(creds))
        allowed = decisions.get(key)
        if allowed is None:
            try:
                allowed = bool(self.enforcer.authorize(action, target,
                                                       context))
            except policy.InvalidScope:
                allowed = False
            if len(decisions) >= MAX_DECISIONS:
                decisions.clear()
            decisions[key] = allowed
        return allowed


def _frozen(values):
    """A hashable form of a flat dict of policy values."""
    return tuple(sorted(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in values.items()))


class _Enforcer(policy.Enforcer):
    """An enforcer that looks for policy file changes every few seconds.

    oslo.policy looks on every check, searching the configuration
    directories when there is no policy file: most of the cost of a policy
    check, twice per request.
    """

    def __init__(self, *args, **kwargs):
        self._next_look = 0.0
        self._decisions = {}
        super().__init__(*args, **kwargs)

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if force_reload or now >= self._next_look:
            super().load_rules(force_reload)
            self._next_look = now + RELOAD_CHECK_INTERVAL
            # The rules may have changed: decide everything again.
            self._decisions.clear()

    def decisions(self):
        """The remembered decisions, forgotten whenever rules are loaded."""
        self.load_rules()
        return self._decisions


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
