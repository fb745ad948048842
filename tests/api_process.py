"""A real interface-attach-api process for tests: start, wait, stop."""

import configparser
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import fixtures
from testtools import content


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dev_sections(directory, port, connection=None):
    """The development configuration, in ``directory``, on ``port``."""
    return {
        'DEFAULT': {'log_file': os.path.join(directory, 'api.log'),
                    'debug': 'true'},
        'api': {'bind_host': '127.0.0.1', 'bind_port': str(port),
                'workers': '2', 'auth_strategy': 'noauth',
                'db_sync_on_start': 'true', 'demo_data_on_start': 'true'},
        'database': {'connection': connection or 'sqlite:///%s' % (
            os.path.join(directory, 'interface-attach.sqlite'))},
    }


def write_config(directory, sections):
    parser = configparser.ConfigParser()
    parser.read_dict(sections)
    path = os.path.join(directory, 'interface-attach.conf')
    with open(path, 'w') as f:
        parser.write(f)
    return path


def request(port, method, path, body=None, token=None, timeout=10):
    """(status, headers, JSON body or None) of one HTTP request."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    headers = {'Accept': 'application/json'}
    if body is not None:
        headers['Content-Type'] = 'application/json'
    if token:
        headers['X-Auth-Token'] = token
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return (response.status, dict(response.getheaders()),
            json.loads(data) if data else None)


class ApiProcess(fixtures.Fixture):
    """interface-attach-api with a config file; listening when set up."""

    def __init__(self, config_file, port, env=None):
        super().__init__()
        self.config_file = config_file
        self.port = port
        self.env = env or {}

    def _setUp(self):
        # A file, not a pipe: a pipe nobody reads fills up and blocks the
        # server's writes, shutdown included.
        self.output = os.path.join(os.path.dirname(self.config_file),
                                   'api-%d.out' % time.monotonic_ns())
        with open(self.output, 'wb') as output:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'interface_attach.cmd.api',
                 '--config-file', self.config_file],
                stdout=output, stderr=subprocess.STDOUT,
                env=dict(os.environ, **self.env))
        self.addCleanup(self._kill)
        self._output_tail = None
        self.addDetail('interface-attach-api output', content.Content(
            content.UTF8_TEXT, lambda: [self._output_tail or self._tail()]))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with open(self.output) as f:
                    raise RuntimeError('interface-attach-api exited: %s'
                                       % f.read())
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('interface-attach-api did not listen in 30 s')

    def stop(self, timeout=60):
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def workers(self, expected=None, timeout=10):
        """The worker pids; with ``expected``, once that many run.

        The master forks its workers one after another, and the first may
        answer before the last is born.
        """
        deadline = time.monotonic() + timeout
        while True:
            pids = subprocess.run(
                ['ps', '-o', 'pid=', '--ppid', str(self.process.pid)],
                capture_output=True, text=True).stdout.split()
            if expected in (None, len(pids)) or time.monotonic() > deadline:
                return pids
            time.sleep(0.1)

    def _tail(self, size=8000):
        with open(self.output, 'rb') as f:
            f.seek(max(0, os.path.getsize(self.output) - size))
            return f.read()

    def _kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        # Kept for the test's report: the file goes with its directory.
        self._output_tail = self._tail()
