"""A real Neutron for the functional tests, started and stopped by them.

``NeutronFixture`` creates a fresh MariaDB database (127.0.0.1:3306, user
root), runs Neutron's migrations into it, and serves Neutron's WSGI
application (``neutron.wsgi.api:application``) with gunicorn on
127.0.0.1 and a free port: ML2 with VXLAN tenant networks,
``auth_strategy = noauth`` (every request is an admin of
``fake_project_id``, so resources are created for other projects by
naming ``project_id``) and ``transport_url = fake://`` (no RabbitMQ). The
mechanism driver of ``mech_driver`` binds ports without an agent; it is
published to Neutron's stevedore namespace through a dist-info directory
written to a temporary directory on the Neutron process's PYTHONPATH.

Cleanup stops the server (its whole process group) and drops the
database. Missing neutron, gunicorn or PyMySQL, or an unreachable
database server, skip the tests with the reason.
"""

import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import unittest
import uuid

import fixtures

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DB_HOST = '127.0.0.1'
DB_PORT = 3306
DB_USER = 'root'
START_TIMEOUT = 90
MECH_DRIVER = 'ia_bind'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def skip_unless_available():
    """Raise SkipTest naming what is missing to run a real Neutron."""
    for module, package in (('neutron', 'neutron'),
                            ('gunicorn', 'gunicorn'),
                            ('pymysql', 'PyMySQL')):
        if importlib.util.find_spec(module) is None:
            raise unittest.SkipTest(
                '%s is not importable: pip install %s to run the Neutron '
                'functional tests' % (module, package))
    try:
        _mysql().close()
    except Exception as e:
        raise unittest.SkipTest(
            'MariaDB/MySQL at %s:%s (user %s, no password) is unreachable: '
            '%s' % (DB_HOST, DB_PORT, DB_USER, e))


def _mysql(database=None):
    import pymysql
    return pymysql.connect(host=DB_HOST, port=DB_PORT, user=DB_USER,
                           password='', database=database,
                           connect_timeout=3, autocommit=True)


class MySQLDatabase(fixtures.Fixture):
    """A fresh, empty database, dropped afterwards."""

    def __init__(self, prefix):
        super().__init__()
        self.name = '%s_%s' % (prefix, uuid.uuid4().hex[:12])

    def _setUp(self):
        self._execute('CREATE DATABASE `%s` CHARACTER SET utf8mb4'
                      % self.name)
        self.addCleanup(self._execute,
                        'DROP DATABASE IF EXISTS `%s`' % self.name)
        self.url = 'mysql+pymysql://%s@%s:%s/%s?charset=utf8mb4' % (
            DB_USER, DB_HOST, DB_PORT, self.name)

    @staticmethod
    def _execute(statement):
        conn = _mysql()
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
        finally:
            conn.close()


NEUTRON_CONF = """\
[DEFAULT]
core_plugin = ml2
service_plugins = {service_plugins}
auth_strategy = {auth_strategy}
transport_url = fake://
api_paste_config = {paste}
dhcp_agent_notification = false
allow_overlapping_ips = true
use_stderr = true
log_file =
debug = false
state_path = {dir}

[database]
connection = {db}

[ml2]
type_drivers = vxlan,flat
tenant_network_types = vxlan
mechanism_drivers = {mech}
extension_drivers = port_security,tag_ports_during_bulk_creation

[ml2_type_vxlan]
vni_ranges = 1:10000

[oslo_concurrency]
lock_path = {dir}/lock
"""

ENTRY_POINTS = """\
[neutron.ml2.mechanism_drivers]
{mech} = tests.functional.neutron.mech_driver:BindingMechanismDriver
"""


class NeutronFixture(fixtures.Fixture):
    """Neutron on 127.0.0.1:<free port>, backed by a fresh database."""

    def __init__(self, workers=1, threads=16, policy=None, config=None,
                 keystone_authtoken=None, token=None, service_plugins=''):
        """Optional extras of Neutron's configuration.

        ``policy``: rules written to a policy.yaml Neutron reads;
        ``config``: sections (a dict of dicts) appended to neutron.conf;
        ``keystone_authtoken``: with these options auth_token validates
        tokens (``auth_strategy = keystone``), and ``token()`` gives the
        admin token this fixture's own requests send;
        ``service_plugins``: e.g. ``router``.
        """
        super().__init__()
        self.workers = workers
        self.threads = threads
        self.policy = policy
        self.config = config
        self.keystone_authtoken = keystone_authtoken
        self.token = token
        self.service_plugins = service_plugins

    def _setUp(self):
        skip_unless_available()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.database = self.useFixture(MySQLDatabase('ia_neutron'))
        self.config_file = os.path.join(self.dir, 'neutron.conf')
        with open(self.config_file, 'w') as f:
            f.write(NEUTRON_CONF.format(
                paste=_neutron_paste_file(), dir=self.dir,
                db=self.database.url, mech=MECH_DRIVER,
                service_plugins=self.service_plugins,
                auth_strategy=('keystone' if self.keystone_authtoken
                               else 'noauth')))
            f.write(self._extra_config())
        entry_points_dir = self._write_entry_points()
        self._migrate()

        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.log_file = os.path.join(self.dir, 'neutron.log')
        env = dict(os.environ,
                   OS_NEUTRON_CONFIG_DIR=self.dir,
                   OS_NEUTRON_CONFIG_FILES='neutron.conf',
                   PYTHONPATH=os.pathsep.join([entry_points_dir, REPO]))
        with open(self.log_file, 'wb') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'gunicorn',
                 '--workers', str(self.workers),
                 '--threads', str(self.threads),
                 '--bind', '127.0.0.1:%d' % self.port,
                 '--timeout', '120', '--graceful-timeout', '5',
                 'tests.functional.neutron.neutron_wsgi:application'],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.addCleanup(self._stop)
        self._wait_until_serving()

    def _extra_config(self):
        sections = {name: dict(options)
                    for name, options in (self.config or {}).items()}
        if self.keystone_authtoken:
            sections['keystone_authtoken'] = dict(self.keystone_authtoken)
        if self.policy:
            path = os.path.join(self.dir, 'policy.yaml')
            with open(path, 'w') as f:
                json.dump(self.policy, f)  # JSON is YAML.
            sections.setdefault('oslo_policy', {})['policy_file'] = path
        text = ''
        for name, options in sections.items():
            text += '\n[%s]\n' % name
            text += ''.join('%s = %s\n' % item for item in options.items())
        return text

    def _write_entry_points(self):
        path = os.path.join(self.dir, 'entry_points')
        dist_info = os.path.join(path, 'ia_test_mech-0.0.dist-info')
        os.makedirs(dist_info)
        with open(os.path.join(dist_info, 'METADATA'), 'w') as f:
            f.write(textwrap.dedent("""\
                Metadata-Version: 2.1
                Name: ia-test-mech
                Version: 0.0
                """))
        with open(os.path.join(dist_info, 'entry_points.txt'), 'w') as f:
            f.write(ENTRY_POINTS.format(mech=MECH_DRIVER))
        return path

    def _migrate(self):
        manage = os.path.join(os.path.dirname(sys.executable),
                              'neutron-db-manage')
        result = subprocess.run(
            [manage, '--config-file', self.config_file, 'upgrade', 'heads'],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError('neutron-db-manage upgrade heads failed:\n%s'
                               % result.stdout[-3000:] + result.stderr[-3000:])

    def _wait_until_serving(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('Neutron exited with %s:\n%s' % (
                    self.process.returncode, self.log_tail()))
            try:
                # Serving: auth_token's 401 needs no Keystone yet.
                status, _ = self.request('GET', '/v2.0/networks',
                                         authenticated=False)
                if status in (200, 401):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError('Neutron did not serve within %d s:\n%s'
                           % (START_TIMEOUT, self.log_tail()))

    def _stop(self):
        if self.process.poll() is None:
            # SIGINT: gunicorn's quick shutdown (no keep-alive wait).
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, size=6000):
        with open(self.log_file, 'rb') as f:
            return f.read()[-size:].decode('utf-8', 'replace')

    # A plain client, for arranging and checking what the tests need.

    def request(self, method, path, body=None, headers=None,
                authenticated=True):
        """(status, JSON body or None) of a request to this Neutron.

        With Keystone, as the admin of ``token()`` unless not
        ``authenticated``.
        """
        conn = http.client.HTTPConnection('127.0.0.1', self.port,
                                          timeout=60)
        try:
            all_headers = {'Accept': 'application/json'}
            if body is not None:
                all_headers['Content-Type'] = 'application/json'
            if self.token is not None and authenticated:
                all_headers['X-Auth-Token'] = self.token()
            all_headers.update(headers or {})
            conn.request(method, path,
                         body=None if body is None else json.dumps(body),
                         headers=all_headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response.status, json.loads(data) if data else None

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        status, result = self.request(method, path, body)
        if status not in expect:
            raise AssertionError('Neutron %s %s: %s %s'
                                 % (method, path, status, result))
        return result

    def create_network(self, project_id, name='private', shared=False,
                       cidr='10.0.0.0/24'):
        """(network, subnet) of ``project_id``."""
        network = self.call('POST', '/v2.0/networks', {'network': {
            'name': name, 'project_id': project_id,
            'shared': shared}})['network']
        subnet = None
        if cidr is not None:
            subnet = self.call('POST', '/v2.0/subnets', {'subnet': {
                'network_id': network['id'], 'cidr': cidr,
                'ip_version': 4, 'project_id': project_id}})['subnet']
        return network, subnet

    def create_port(self, project_id, network_id, **values):
        values.update(network_id=network_id, project_id=project_id)
        return self.call('POST', '/v2.0/ports', {'port': values})['port']

    def get_port(self, port_id):
        """The port, or None when Neutron has none with that id."""
        status, body = self.request('GET', '/v2.0/ports/%s' % port_id)
        if status == 404:
            return None
        if status != 200:
            raise AssertionError('GET port %s: %s %s'
                                 % (port_id, status, body))
        return body['port']

    def ports(self, **filters):
        query = '&'.join('%s=%s' % item for item in sorted(filters.items()))
        return self.call('GET', '/v2.0/ports?' + query)['ports']

    def set_port_quota(self, project_id, limit):
        self.call('PUT', '/v2.0/quotas/%s' % project_id,
                  {'quota': {'port': limit}})

    def delete_network(self, network_id):
        for port in self.ports(network_id=network_id):
            self.call('DELETE', '/v2.0/ports/%s' % port['id'],
                      expect=(204, 404))
        self.call('DELETE', '/v2.0/networks/%s' % network_id,
                  expect=(204, 404))


def _neutron_paste_file():
    """The api-paste.ini the neutron package installs."""
    candidates = [os.path.join(sys.prefix, 'etc', 'neutron',
                               'api-paste.ini')]
    spec = importlib.util.find_spec('neutron')
    package_dir = os.path.dirname(spec.origin)
    candidates.append(os.path.join(package_dir, 'tests', 'etc',
                                   'api-paste.ini'))
    for path in candidates:
        if os.path.exists(path):
            return path
    raise unittest.SkipTest('neutron api-paste.ini not found in %s'
                            % candidates)
