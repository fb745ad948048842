"""The policy enforcer: built once per application from a ConfigOpts.

Decisions are remembered until the next look at the policy file (every
RELOAD_CHECK_INTERVAL seconds): the same caller asking the same thing of
the same target gets the same answer without evaluating the rules again.
A policy file that turns bad is logged once and the rules loaded before
stay in force until it is fixed; :func:`check_files` tells a bad one at
start-up.
"""

import os
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import policy
import yaml

from interface_attach import conf as ia_conf
from interface_attach import exception
from interface_attach import policies

LOG = logging.getLogger(__name__)

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
    check, twice per request. And while a policy file does not parse,
    every check raises: the files are checked here first.
    """

    def __init__(self, *args, **kwargs):
        self._next_look = 0.0
        self._decisions = {}
        # path: (modification time, problem or None) of each policy file
        # read, so that a file is read again, and its problem logged, once
        # per change.
        self._files = {}
        super().__init__(*args, **kwargs)

    def load_rules(self, force_reload=False):
        now = time.monotonic()
        if not force_reload and now < self._next_look:
            return
        self._next_look = now + RELOAD_CHECK_INTERVAL
        if self.problems(log=True):
            # Keep the rules in force: oslo.policy would raise on every
            # check, with its rules half replaced or none at all.
            return
        try:
            super().load_rules(force_reload)
        except (ValueError, UnicodeError, AttributeError) as e:
            # A file changed between our look and oslo.policy's.
            LOG.error('Policy files changed while being loaded: %s', e)
        # The rules may have changed: decide everything again.
        self._decisions.clear()

    def decisions(self):
        """The remembered decisions, forgotten whenever rules are loaded."""
        self.load_rules()
        return self._decisions

    def problems(self, log=False):
        """(path, problem) of each policy file that would not load."""
        problems = []
        for path in self._policy_files():
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                continue  # Gone: oslo.policy falls back to the defaults.
            seen = self._files.get(path)
            if seen is None or seen[0] != mtime:
                seen = self._files[path] = (mtime, file_problem(path))
                if seen[1] and log:
                    LOG.error('Policy file %s: %s; the rules loaded before '
                              'stay in force', path, seen[1])
            if seen[1]:
                problems.append((path, seen[1]))
        return problems

    def _policy_files(self):
        """The policy file and the files in the policy directories."""
        paths = []
        for name in [self.policy_file] + self.conf.oslo_policy.policy_dirs:
            path = self.conf.find_file(name)
            if path and os.path.isdir(path):
                # As oslo.policy reads them: not in subdirectories.
                paths += sorted(
                    os.path.join(path, entry) for entry in os.listdir(path)
                    if os.path.isfile(os.path.join(path, entry)))
            elif path:
                paths.append(path)
        return paths


def file_problem(path):
    """What would stop the policy file at ``path`` loading, or None."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return e.strerror
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        return 'not UTF-8 (byte 0x%02x at offset %d)' % (data[e.start],
                                                         e.start)
    try:
        rules = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        if mark is None:
            return 'not YAML: %s' % str(e).splitlines()[0]
        return 'not YAML: %s at line %d, column %d' % (
            e.problem, mark.line + 1, mark.column + 1)
    if rules is None:
        return None
    if not isinstance(rules, dict) or not all(
            isinstance(name, str) and isinstance(rule, str)
            for name, rule in rules.items()):
        return 'not a mapping of rule names to rule strings'
    return None


def make_enforcer(conf):
    enforcer = _Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    # Now, so that the processes forked to serve start with these rules.
    enforcer.load_rules()
    return enforcer


def check_files(conf):
    """At start-up: :raises InvalidPolicyFile: a policy file is bad."""
    for path, problem in _Enforcer(conf).problems():
        raise exception.InvalidPolicyFile(path=path, problem=problem)


def get_enforcer():
    """For the oslopolicy-* tools (the oslo.policy.enforcer entry point)."""
    conf = cfg.ConfigOpts()
    ia_conf.register_opts(conf)
    conf([], project='interface-attach')
    return make_enforcer(conf)
