"""interface-attach-api when its policy file is edited into bad shape.

A policy file that turns bad while serving (not YAML, not UTF-8) changes
no answer: the rules loaded before stay in force, one ERROR line per
serving process names the file and the problem, and no request fails or
is blamed on the client for it. A bad policy file at start-up stops the
start with one line on stderr and exit code 1. Only a URL that is not
UTF-8 is answered "The request URL is not valid UTF-8."
"""

import json
import os
import re
import subprocess
import sys
import time

import fixtures
from oslotest import base

from interface_attach import demo
from interface_attach import policy
from tests import api_process
from tests.functional import test_server_protocol as protocol

LIST = 'os_compute_api:os-attach-interfaces:list'
LIST_PATH = '/v2.1/servers/%s/os-interface' % demo.SERVER_ID
OBSERVER = 'olga:%s:observer' % demo.PROJECT_ID
MEMBER = 'demo:%s' % demo.PROJECT_ID
DENIED = "Policy doesn't allow %s to be performed." % LIST
NOT_UTF8 = 'The request URL is not valid UTF-8.'
GOOD_POLICY = '"%s": "role:observer"\n' % LIST
BAD_YAML = b'"%s": [role:observer\n' % LIST.encode()
NOT_UTF8_BYTES = b'\xff\xfe"' + LIST.encode() + b'": "@"\n'


class PolicyFileTestBase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = api_process.free_port()
        self.policy_file = os.path.join(self.dir, 'policy.yaml')
        sections = api_process.dev_sections(self.dir, self.port)
        # One serving process: one look at the file, one ERROR line.
        sections['api']['workers'] = '1'
        self.config = api_process.write_config(self.dir, sections)

    def write_policy(self, data):
        with open(self.policy_file, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)

    def log(self):
        with open(os.path.join(self.dir, 'api.log')) as f:
            return f.read()


class PolicyFileTurnsBadTest(PolicyFileTestBase):

    def setUp(self):
        super().setUp()
        self.write_policy(GOOD_POLICY)
        self.server = self.useFixture(
            api_process.ApiProcess(self.config, self.port))

    def answers(self):
        """(status, body) to the observer the rule lets in, and a member."""
        return [api_process.request(self.port, 'GET', LIST_PATH,
                                    token=token)[::2]
                for token in (OBSERVER, MEMBER)]

    def assertSameAnswersAfter(self, bad_contents):
        before = self.answers()
        self.assertEqual(200, before[0][0], before)
        self.assertEqual((403, {'forbidden': {'code': 403,
                                              'message': DENIED}}),
                         before[1])

        self.write_policy(bad_contents)
        time.sleep(policy.RELOAD_CHECK_INTERVAL + 1)
        for _ in range(3):
            self.assertEqual(before, self.answers())

        log = self.log()
        errors = [line for line in log.splitlines()
                  if re.match(r'\S+ \S+ \d+ ERROR ', line)]
        self.assertEqual(1, len(errors), log)
        self.assertIn('Policy file %s: ' % self.policy_file, errors[0])
        self.assertIn('the rules loaded before stay in force', errors[0])
        self.assertNotIn('Traceback', log)
        return errors[0]

    def test_not_yaml(self):
        error = self.assertSameAnswersAfter(BAD_YAML)
        self.assertIn('not YAML: ', error)

    def test_not_utf8_keeps_the_rules_and_blames_no_url(self):
        error = self.assertSameAnswersAfter(NOT_UTF8_BYTES)
        self.assertIn('not UTF-8 (byte 0xff at offset 0)', error)
        # A URL that is not UTF-8, in its path or its query, is told so.
        for url in ('/v2.1/servers/%ff/os-interface',
                    '/v2.1/servers/detail?name=%ff'):
            status, _, body = protocol.parse(protocol.raw(self.port, (
                'GET %s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n'
                'Connection: close\r\n\r\n' % (url, OBSERVER)).encode()))
            self.assertEqual((400, {'badRequest': {'code': 400,
                                                   'message': NOT_UTF8}}),
                             (status, json.loads(body)))

    def test_fixed_file_applies_at_the_next_look(self):
        self.assertSameAnswersAfter(BAD_YAML)
        self.write_policy('"%s": "@"\n' % LIST)
        time.sleep(policy.RELOAD_CHECK_INTERVAL + 1)
        self.assertEqual([200, 200], [a[0] for a in self.answers()])


class BadPolicyFileAtStartTest(PolicyFileTestBase):

    def start(self):
        return subprocess.run(
            [sys.executable, '-m', 'interface_attach.cmd.api',
             '--config-file', self.config],
            capture_output=True, text=True, timeout=60)

    def assertStartFails(self, contents, problem):
        self.write_policy(contents)
        result = self.start()
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(
            'interface-attach-api: error: policy file %s: %s\n'
            % (self.policy_file, problem), result.stderr)
        self.assertEqual('', result.stdout)

    def test_not_yaml(self):
        self.assertStartFails(
            BAD_YAML, "not YAML: expected ',' or ']', but got "
                      "'<stream end>' at line 2, column 1")

    def test_not_utf8(self):
        self.assertStartFails(NOT_UTF8_BYTES,
                              'not UTF-8 (byte 0xff at offset 0)')

    def test_not_a_mapping_of_rules(self):
        self.assertStartFails('- "role:admin"\n',
                              'not a mapping of rule names to rule strings')
