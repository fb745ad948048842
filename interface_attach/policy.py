"""The policy enforcer: built once per application from a ConfigOpts."""

from oslo_config import cfg
from oslo_policy import policy

from interface_attach import conf as ia_conf
from interface_attach import exception
from interface_attach import policies


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


def make_enforcer(conf):
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """For the oslopolicy-* tools (the oslo.policy.enforcer entry point)."""
    conf = cfg.ConfigOpts()
    ia_conf.register_opts(conf)
    conf([], project='interface-attach')
    return make_enforcer(conf)
