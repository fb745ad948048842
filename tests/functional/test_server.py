"""interface-attach-api under its production server, as a real process.

It serves the shipped pipeline with several workers, answers the spec's
Execution Example, logs the request id on each line about a request and
never a token, and stops cleanly on SIGTERM. The WSGI module exposes the
same application.
"""

import configparser
import http.client
import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import fixtures
from oslotest import base

from interface_attach import demo

TOKEN = 'demo:%s' % demo.PROJECT_ID
EXAMPLE_PATH = '/v2/%s/servers/%s/os-interface' % (demo.PROJECT_ID,
                                                   demo.SERVER_ID)
EXAMPLE_BODY = ('{ "interfaceAttachment": { "port_id": "%s"}}'
                % demo.PORT_ID)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_config(directory, **sections):
    parser = configparser.ConfigParser()
    parser.read_dict(sections)
    path = os.path.join(directory, 'interface-attach.conf')
    with open(path, 'w') as f:
        parser.write(f)
    return path


def dev_sections(directory, port):
    return {
        'DEFAULT': {'log_file': os.path.join(directory, 'api.log'),
                    'debug': 'true'},
        'api': {'bind_host': '127.0.0.1', 'bind_port': str(port),
                'workers': '2', 'auth_strategy': 'noauth',
                'db_sync_on_start': 'true', 'demo_data_on_start': 'true'},
        'database': {'connection': 'sqlite:///%s' % os.path.join(
            directory, 'interface-attach.sqlite')},
    }


def request(port, method, path, body=None, token=TOKEN):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    headers = {'Accept': 'application/json'}
    if body is not None:
        headers['Content-Type'] = 'application/json'
    if token:
        headers['X-Auth-Token'] = token
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), json.loads(data)


class ApiServerTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        self.config = write_config(self.dir,
                                   **dev_sections(self.dir, self.port))
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'interface_attach.cmd.api',
             '--config-file', self.config],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(self._kill)
        self._wait_until_listening()

    def _kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def _wait_until_listening(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail('interface-attach-api exited: %s'
                          % self.process.stdout.read().decode())
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.fail('interface-attach-api did not listen within 30 s')

    def _workers(self):
        children = subprocess.run(
            ['ps', '-o', 'pid=', '--ppid', str(self.process.pid)],
            capture_output=True, text=True).stdout.split()
        return children

    def test_serves_the_execution_example_then_stops_on_sigterm(self):
        status, headers, body = request(self.port, 'POST', EXAMPLE_PATH,
                                        EXAMPLE_BODY)
        self.assertEqual(200, status)
        self.assertEqual(demo.PORT_ID, body['interfaceAttachment']['port_id'])
        self.assertEqual(demo.NETWORK_ID,
                         body['interfaceAttachment']['net_id'])
        self.assertEqual(headers['x-compute-request-id'],
                         headers['x-openstack-request-id'])
        self.assertEqual(2, len(self._workers()))

        status, _, body = request(self.port, 'POST', EXAMPLE_PATH,
                                  EXAMPLE_BODY)
        self.assertEqual(400, status)
        self.assertEqual('Port %s is still in use.' % demo.PORT_ID,
                         body['badRequest']['message'])

        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.process.wait(timeout=30))

    def test_logs_request_ids_and_never_tokens(self):
        secret_token = 'alice:%s:member' % demo.PROJECT_ID
        ids = []
        bodies = (EXAMPLE_BODY, EXAMPLE_BODY, '{"interfaceAttachment": {}}')
        for body in bodies:
            _, headers, _ = request(self.port, 'POST', EXAMPLE_PATH, body,
                                    token=secret_token)
            ids.append(headers['x-openstack-request-id'])
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)

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
        sections = dev_sections(directory, free_port())
        del sections['DEFAULT']
        config = write_config(directory, **sections)
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_INTERFACE_ATTACH_CONFIG_FILE', config))
        sys.modules.pop('interface_attach.wsgi.api', None)
        module = importlib.import_module('interface_attach.wsgi.api')
        self.addCleanup(sys.modules.pop, 'interface_attach.wsgi.api', None)

        import webtest
        app = webtest.TestApp(module.application)
        response = app.post(EXAMPLE_PATH, EXAMPLE_BODY,
                            headers={'X-Auth-Token': TOKEN,
                                     'Content-Type': 'application/json'})
        self.assertEqual(demo.PORT_ID,
                         response.json['interfaceAttachment']['port_id'])
