"""The published entry points work for the tools operators run."""

from importlib import metadata
import json
import os
import subprocess
import sys

import fixtures
from oslotest import base
from stevedore import driver

from interface_attach.api import paste
from interface_attach.network import local
from interface_attach.network import noop

BIN = os.path.dirname(sys.executable)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def run(tool, *args):
    return subprocess.run([os.path.join(BIN, tool)] + list(args),
                          capture_output=True, text=True, cwd=REPO,
                          check=True).stdout


def entry_point(group, name):
    return metadata.entry_points(group=group)[name].load()


class EntryPointsTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_network_drivers_namespace(self):
        for name, cls in (('local', local.LocalDriver),
                          ('noop', noop.NoopDriver)):
            manager = driver.DriverManager('interface_attach.network_drivers',
                                           name)
            self.assertIs(cls, manager.driver)

    def test_paste_factories(self):
        self.assertIs(paste.app_factory,
                      entry_point('paste.app_factory', 'interface_attach'))
        self.assertIs(paste.filter_factory,
                      entry_point('paste.filter_factory', 'interface_attach'))

    def test_console_scripts(self):
        scripts = metadata.entry_points(group='console_scripts')
        self.assertIn('interface-attach-api', scripts.names)
        self.assertIn('interface-attach-manage', scripts.names)

    def test_config_generator_writes_our_options(self):
        output = os.path.join(self.dir, 'sample.conf')
        run('oslo-config-generator', '--config-file',
            'etc/interface_attach/config-generator.conf',
            '--output-file', output)
        with open(output) as f:
            sample = f.read()
        for text in ('[api]', '#auth_strategy = keystone', '[network]',
                     '#driver = local', '#allow_duplicate_networks = false',
                     '[database]',
                     '#connection = sqlite:///interface-attach.sqlite',
                     '[keystone_authtoken]', '[oslo_policy]',
                     '#max_request_body_size = 114688'):
            self.assertIn(text, sample)

    def test_policy_sample_generator(self):
        output = os.path.join(self.dir, 'policy.yaml')
        run('oslopolicy-sample-generator', '--config-file',
            'etc/interface_attach/policy-generator.conf',
            '--output-file', output)
        with open(output) as f:
            sample = f.read()
        self.assertIn('#"os_compute_api:os-attach-interfaces:create": '
                      '"rule:project_member_or_admin"', sample)

    def test_policy_checker_with_the_enforcer_entry_point(self):
        policy_file = os.path.join(self.dir, 'policy.yaml')
        run('oslopolicy-policy-generator', '--namespace', 'interface_attach',
            '--output-file', policy_file)
        target = os.path.join(self.dir, 'target.json')
        with open(target, 'w') as f:
            json.dump({'project_id': 'p1'}, f)

        def check(role, project):
            access = os.path.join(self.dir, 'access.json')
            with open(access, 'w') as f:
                json.dump({'token': {
                    'roles': [{'name': role}],
                    'project': {'id': project, 'name': project,
                                'domain': {'id': 'default'}},
                    'user': {'id': 'u', 'name': 'u',
                             'domain': {'id': 'default'}}}}, f)
            return run('oslopolicy-checker', '--policy', policy_file,
                       '--access', access, '--target', target, '--rule',
                       'os_compute_api:os-attach-interfaces:create').strip()

        rule = 'os_compute_api:os-attach-interfaces:create'
        self.assertEqual('passed: ' + rule, check('member', 'p1'))
        self.assertEqual('failed: ' + rule, check('reader', 'p1'))
        self.assertEqual('failed: ' + rule, check('member', 'p2'))
        self.assertEqual('passed: ' + rule, check('admin', 'p2'))
