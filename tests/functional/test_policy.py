"""Policy of create interface: the defaults in code and operator overrides.

``os_compute_api:os-attach-interfaces:create`` defaults to a member of the
server's project, or an admin of any project. An operator's policy.yaml,
or a legacy policy.json, overrides the rule (or the rules it refers to).
Each row attaches the usual free port and expects 200 (the port is bound
to the server) or the exact fault, with the store untouched.
"""

import json
import logging
import os
import time

import fixtures

from interface_attach import policy
from tests.functional import base

DENIED = ("Policy doesn't allow os_compute_api:os-attach-interfaces:create "
          "to be performed.")
CREATE = 'os_compute_api:os-attach-interfaces:create'

MEMBER = 'alice:{project}'
READER = 'rita:{project}:reader'
ADMIN = 'root:{project}:admin'
OTHER_ADMIN = 'root:{other_project}:admin'


def policy_yaml(rules):
    return ('policy.yaml',
            ''.join('"%s": "%s"\n' % item for item in rules.items()))


def policy_json(rules):
    return ('policy.json', json.dumps(rules, indent=4))


class Row:

    def __init__(self, name, token, status, message=None, policy=None,
                 project='{project}'):
        self.name = name
        self.token = token
        self.status = status
        self.message = message
        self.policy = policy
        self.project = project


ROWS = [
    # The defaults in code.
    Row('member of the server project', MEMBER, 200),
    Row('admin of the server project', ADMIN, 200),
    Row('admin of another project', OTHER_ADMIN, 200,
        project='{other_project}'),
    Row('reader and member', 'rita:{project}:reader,member', 200),
    Row('reader only', READER, 403, DENIED),
    Row('unknown role only', 'olga:{project}:observer', 403, DENIED),
    Row('member of another project cannot see the server',
        'bob:{other_project}', 404, 'Instance {server} could not be found.',
        project='{other_project}'),
    Row('reader of another project cannot see the server',
        'bob:{other_project}:reader', 404,
        'Instance {server} could not be found.', project='{other_project}'),

    # policy.yaml
    Row('yaml admin only denies a member', MEMBER, 403, DENIED,
        policy=policy_yaml({CREATE: 'role:admin'})),
    Row('yaml admin only allows an admin', ADMIN, 200,
        policy=policy_yaml({CREATE: 'role:admin'})),
    Row('yaml admin only allows an admin of another project', OTHER_ADMIN,
        200, project='{other_project}',
        policy=policy_yaml({CREATE: 'role:admin'})),
    Row('yaml anyone lets a reader in', READER, 200,
        policy=policy_yaml({CREATE: '@'})),
    Row('yaml anyone lets an unknown role in', 'olga:{project}:observer',
        200, policy=policy_yaml({CREATE: '@'})),
    Row('yaml nobody denies an admin', ADMIN, 403, DENIED,
        policy=policy_yaml({CREATE: '!'})),
    Row('yaml reader rule lets a reader in', READER, 200,
        policy=policy_yaml({CREATE: 'rule:project_reader_or_admin'})),
    Row('yaml redefined base rule denies a member', MEMBER, 403, DENIED,
        policy=policy_yaml({'project_member_or_admin': 'role:admin'})),
    Row('yaml redefined admin role: the old admin role sees no other '
        'project', OTHER_ADMIN, 404, 'Instance {server} could not be found.',
        project='{other_project}',
        policy=policy_yaml({'context_is_admin': 'role:superuser'})),
    Row('yaml redefined admin role: the new one attaches anywhere',
        'root:{other_project}:superuser', 200, project='{other_project}',
        policy=policy_yaml({'context_is_admin': 'role:superuser'})),
    Row('yaml overriding another rule keeps the default', MEMBER, 200,
        policy=policy_yaml({'project_reader_or_admin': '!'})),

    # Legacy policy.json
    Row('json admin only denies a member', MEMBER, 403, DENIED,
        policy=policy_json({CREATE: 'role:admin'})),
    Row('json admin only allows an admin', ADMIN, 200,
        policy=policy_json({CREATE: 'role:admin'})),
    Row('json anyone lets a reader in', READER, 200,
        policy=policy_json({CREATE: '@'})),
]


def _row_test(row):
    def test(self):
        self.start_service(policy=row.policy)
        w = self.make_world()
        before = self.snapshot()
        response = self.attach(
            w.server, {'interfaceAttachment': {'port_id': w.port}},
            token=w.fill(row.token), project_id=w.fill(row.project))
        if row.status == 200:
            self.assertEqual(200, response.status_int, response.text)
            self.assertEqual(w.port,
                             response.json['interfaceAttachment']['port_id'])
            port, _ = self.port_of(w.port)
            self.assertEqual(w.server, port.device_id)
        else:
            self.assertFault(response, row.status, w.fill(row.message))
            self.assertEqual(before, self.snapshot())
    return test


class TestCreatePolicy(base.FunctionalTestCase):
    """One test per row of ROWS."""


base.add_row_tests(TestCreatePolicy, ROWS, _row_test)


class TestPolicyFileChanges(base.FunctionalTestCase):
    """A changed policy file takes effect at the next look, decisions too."""

    def test_changed_rule_applies_after_the_reload_interval(self):
        service = self.start_service(
            policy=policy_yaml({CREATE: 'role:member'}))
        w = self.make_world()
        first = self.attach(w.server, {'interfaceAttachment': {}},
                            token=w.fill(MEMBER))
        # Allowed: the failure is the one after the policy check.
        self.assertNotEqual(403, first.status_int, first.text)

        path = service.dir + '/policy.yaml'
        with open(path, 'w') as f:
            f.write(policy_yaml({CREATE: 'role:admin'})[1])
        # A later modification time, and a clock past the next look.
        stat = os.stat(path)
        os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))
        later = time.monotonic() + policy.RELOAD_CHECK_INTERVAL + 1
        self.useFixture(fixtures.MockPatch(
            'interface_attach.policy.time.monotonic', return_value=later))

        second = self.attach(w.server,
                             {'interfaceAttachment': {'port_id': w.port}},
                             token=w.fill(MEMBER))
        self.assertFault(second, 403, DENIED)

    def test_bad_file_in_policy_dir_keeps_every_rule_loaded(self):
        service = self.start_service(
            policy=policy_yaml({CREATE: 'role:member'}))
        logger = self.useFixture(fixtures.FakeLogger(
            name='interface_attach.policy', level=logging.ERROR))
        w = self.make_world()
        extra = os.path.join(service.dir, 'policy.d', 'extra.yaml')
        os.mkdir(os.path.dirname(extra))
        clock = self.useFixture(fixtures.MockPatch(
            'interface_attach.policy.time.monotonic',
            return_value=time.monotonic()))

        def change(path, contents, seconds):
            with open(path, 'w') as f:
                f.write(contents)
            stat = os.stat(path)
            os.utime(path, (stat.st_atime + seconds,
                            stat.st_mtime + seconds))
            clock.mock.return_value += policy.RELOAD_CHECK_INTERVAL + 1

        change(extra, policy_yaml({CREATE: 'role:admin'})[1], 10)
        denied = self.attach(w.server, {'interfaceAttachment': {}},
                             token=w.fill(MEMBER))
        self.assertFault(denied, 403, DENIED)

        # The main file changes too: oslo.policy would start over from it.
        change(extra, '"%s": [role:member\n' % CREATE, 20)
        change(service.dir + '/policy.yaml',
               policy_yaml({CREATE: 'role:member'})[1], 20)
        still = self.attach(w.server, {'interfaceAttachment': {}},
                            token=w.fill(MEMBER))
        self.assertFault(still, 403, DENIED)
        self.assertEqual(1, len(logger.output.splitlines()), logger.output)
        self.assertIn('Policy file %s: not YAML: ' % extra, logger.output)
