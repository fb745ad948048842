"""interface-attach-api under its production server, as a real process.

It serves the shipped pipeline with several workers, answers the spec's
Execution Example, logs the request id on each line about a request and
never a token, and stops cleanly on SIGTERM. The WSGI module exposes the
same application.
"""

import importlib
import os
import re
import sys

import fixtures
from oslotest import base
import webtest

from interface_attach import demo
from tests import api_process

TOKEN = 'demo:%s' % demo.PROJECT_ID
EXAMPLE_PATH = '/v2/%s/servers/%s/os-interface' % (demo.PROJECT_ID,
                                                   demo.SERVER_ID)
EXAMPLE_BODY = ('{ "interfaceAttachment": { "port_id": "%s"}}'
                % demo.PORT_ID)


class ApiServerTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = api_process.free_port()
        config = api_process.write_config(
            self.dir, api_process.dev_sections(self.dir, self.port))
        self.server = self.useFixture(
            api_process.ApiProcess(config, self.port))

    def request(self, body, token=TOKEN):
        return api_process.request(self.port, 'POST', EXAMPLE_PATH, body,
                                   token=token)

    def test_serves_the_execution_example_then_stops_on_sigterm(self):
        status, headers, body = self.request(EXAMPLE_BODY)
        self.assertEqual(200, status)
        self.assertEqual(demo.PORT_ID, body['interfaceAttachment']['port_id'])
        self.assertEqual(demo.NETWORK_ID,
                         body['interfaceAttachment']['net_id'])
        self.assertEqual(headers['x-compute-request-id'],
                         headers['x-openstack-request-id'])
        self.assertEqual(2, len(self.server.workers(expected=2)))

        status, _, body = self.request(EXAMPLE_BODY)
        self.assertEqual(400, status)
        self.assertEqual('Port %s is still in use.' % demo.PORT_ID,
                         body['badRequest']['message'])

        self.assertEqual(0, self.server.stop())

    def test_logs_request_ids_and_never_tokens(self):
        secret_token = 'alice:%s:member' % demo.PROJECT_ID
        ids = []
        bodies = (EXAMPLE_BODY, EXAMPLE_BODY, '{"interfaceAttachment": {}}')
        for body in bodies:
            _, headers, _ = self.request(body, token=secret_token)
            ids.append(headers['x-openstack-request-id'])
        self.server.stop()

        with open(os.path.join(self.dir, 'api.log')) as f:
            log = f.read()
        self.assertNotIn(secret_token, log)
        attach_lines = [line for line in log.splitlines()
                        if 'Attach interface: server' in line]
        # One INFO line per attach, naming server, port, network, outcome,
        # each with the request id of its request.
        self.assertEqual(3, len(attach_lines), log)
        for request_id, line in zip(ids, attach_lines):
            self.assertIn(' INFO ', line)
            self.assertIn(request_id, line)
            self.assertIn(demo.SERVER_ID, line)
            self.assertIn(demo.NETWORK_ID, line)
        self.assertIn('attached', attach_lines[0])
        self.assertIn('refused: Port %s is still in use.' % demo.PORT_ID,
                      attach_lines[1])
        for line in log.splitlines():
            if re.search(r' interface_attach\.(compute|api)', line):
                self.assertRegex(line, r'req-[0-9a-f-]{36}')


class WsgiModuleTest(base.BaseTestCase):

    def test_application_from_config_in_environment(self):
        directory = self.useFixture(fixtures.TempDir()).path
        sections = api_process.dev_sections(directory,
                                            api_process.free_port())
        del sections['DEFAULT']
        sections['recovery'] = {'interval': '0'}
        config = api_process.write_config(directory, sections)
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_INTERFACE_ATTACH_CONFIG_FILE', config))
        sys.modules.pop('interface_attach.wsgi.api', None)
        module = importlib.import_module('interface_attach.wsgi.api')
        self.addCleanup(sys.modules.pop, 'interface_attach.wsgi.api', None)

        app = webtest.TestApp(module.application)
        response = app.post(EXAMPLE_PATH, EXAMPLE_BODY,
                            headers={'X-Auth-Token': TOKEN,
                                     'Content-Type': 'application/json'})
        self.assertEqual(demo.PORT_ID,
                         response.json['interfaceAttachment']['port_id'])
