"""The real peers: a Keystone and interface-attach-api, started by the tests.

``PEERS`` is a testresources manager. The test modules (and this package,
when stestr discovers it) put their tests in an OptimisingTestSuite, so a
test process starts one set of peers for all the tests it runs and stops
it after the last one: one set per ``python -m testtools.run <module>``,
one per stestr worker. A run without such a suite (a class or a single
test) keeps its peers until the interpreter exits.

``Peers`` starts, on free ports of 127.0.0.1 chosen at run time and in
temporary directories:

* Keystone (the ``keystone`` package): SQLite, fernet tokens,
  ``keystone-manage db_sync``, ``fernet_setup`` and ``bootstrap`` (run in
  one process by ``keystone_wsgi.py``), then its public WSGI application
  under gunicorn. Through its API it gets two projects (``alpha`` with an
  admin, a member and a reader; ``beta`` with a member), a ``service``
  project whose ``interface-attach`` user has the ``service`` role (which
  keystone's token validation policy asks of auth_token), and the compute
  service with a public endpoint ``http://127.0.0.1:<port>/v2.1``; no
  network service, so clients take port and network ids as given.
* interface-attach-api, the production server (gunicorn, two workers),
  ``[api] auth_strategy = keystone``, so the shipped ``interface_attach``
  pipeline with keystonemiddleware's auth_token validating against that
  Keystone. ``[network] allow_duplicate_networks = True``, as Nova attaches
  do: tempest's flow attaches twice to one network.

Then, in the server's store, project beta's only network (``beta-net``,
what an attach without arguments picks); tests add their own servers,
networks and ports.

Every process runs in its own session and is stopped by killing its
process group (SIGTERM, then SIGKILL): by the fixture cleanup, at
interpreter exit if no cleanup ran, and, if the test process is killed, by
the kernel (the parent-death signal kills the gunicorn masters; their
workers leave when they notice, within their timeout). Logs stay in the
temporary directories until the peers stop; a peer that does not come up
fails every test with the tail of its log.
"""

import atexit
import configparser
import http.client
import importlib.util
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import fixtures
import testresources

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = os.path.dirname(sys.executable)
HOST = '127.0.0.1'
REGION = 'RegionOne'
DOMAIN = 'Default'
START_TIMEOUT = 90
# The system's temporary directory, taken before any test runs: oslotest
# points tempfile at a per-test directory (NestedTempfile), removed when
# that test ends, and the peers may outlive the test that starts them.
TMP_ROOT = tempfile.gettempdir()

# The pip distributions of the peers and clients, by importable module.
PEER_PACKAGES = {'keystone': 'keystone', 'keystoneauth1': 'keystoneauth1',
                 'gunicorn': 'gunicorn'}
CLIENT_PACKAGES = {'openstacksdk': 'openstack',
                   'python-novaclient': 'novaclient',
                   'python-openstackclient': 'openstackclient',
                   'tempest': 'tempest'}

# user name -> (project, role); every user has the same password.
USERS = {
    'alpha-admin': ('alpha', 'admin'),
    'alpha-member': ('alpha', 'member'),
    'alpha-reader': ('alpha', 'reader'),
    'beta-member': ('beta', 'member'),
    'interface-attach': ('service', 'service'),
}
SERVICE_USER = 'interface-attach'


def missing_packages(*distributions):
    """The pip names, among the peers' and ``distributions``, not installed."""
    wanted = dict(PEER_PACKAGES)
    wanted.update({name: CLIENT_PACKAGES[name] for name in distributions})
    missing = []
    for distribution, module in sorted(wanted.items()):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(distribution)
    return missing


def free_ports(count):
    """``count`` distinct free TCP ports of 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def write_ini(path, sections):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(sections)
    with open(path, 'w') as f:
        parser.write(f)
    return path


def tail(path, lines=40):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError as e:
        return '(no log: %s)' % e


def http_request(url, method='GET', token=None, body=None, headers=None,
                 timeout=30):
    """(status, headers with lower-case names, parsed JSON body or None)."""
    parsed = http.client.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=timeout)
    all_headers = {'Accept': 'application/json'}
    if body is not None:
        body = json.dumps(body)
        all_headers['Content-Type'] = 'application/json'
    if token is not None:
        all_headers['X-Auth-Token'] = token
    all_headers.update(headers or {})
    path = parsed.path + ('?' + parsed.query if parsed.query else '')
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    response_headers = {k.lower(): v for k, v in response.getheaders()}
    return (response.status, response_headers,
            json.loads(data) if data else None)


# Processes

# Run a command with the parent-death signal set (kept across execve), so
# that the kernel kills the peer if the test process dies without cleanup.
_WITH_PARENT_DEATH_SIGNAL = (
    'import ctypes, os, signal, sys\n'
    'try:\n'
    '    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n'
    'except Exception:\n'
    '    pass\n'
    'if os.getppid() == int(sys.argv[1]):\n'
    '    os.execv(sys.argv[2], sys.argv[2:])\n')

_running = set()


class Process:
    """A peer process in its own session, stopped with its whole group."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        with open(log_path, 'ab') as log:
            self.popen = subprocess.Popen(
                [sys.executable, '-c', _WITH_PARENT_DEATH_SIGNAL,
                 str(os.getpid())] + list(argv),
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                start_new_session=True)
        _running.add(self)

    def running(self):
        return self.popen.poll() is None

    def failure(self, why):
        return RuntimeError('%s %s; the end of %s:\n%s' % (
            self.name, why, self.log_path, tail(self.log_path)))

    def stop(self):
        _running.discard(self)
        pgid = self.popen.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        # Whatever is left of the group (workers of a master that died).
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait()


@atexit.register
def _stop_leftovers():
    for process in list(_running):
        process.stop()


def wait_for_http(process, url, deadline):
    """Poll ``url`` until it answers below 500; fail if the process exits."""
    while True:
        if not process.running():
            raise process.failure('exited with %s' % process.popen.returncode)
        try:
            remaining = max(1, deadline - time.monotonic())
            status, _, _ = http_request(url, timeout=remaining)
            if status < 500:
                return
        except (OSError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise process.failure('did not answer %s within %d s'
                                  % (url, START_TIMEOUT))
        time.sleep(0.1)


# Keystone

def _no_control_socket():
    """gunicorn 25.1+ opens a control socket in $HOME unless told not to."""
    from gunicorn import config
    if any(setting.name == 'control_socket_disable'
           for setting in config.KNOWN_SETTINGS):
        return ['--no-control-socket']
    return []


class Keystone(fixtures.Fixture):
    """A Keystone on 127.0.0.1:``port``, bootstrapped, empty but for admin.

    ``workers``: gunicorn's. Two workers writing one SQLite file at once
    answered 500 to some of tempest's deletes of users and projects (two
    tempest runs, dynamic credentials): one worker for such clients.
    """

    def __init__(self, port, password, workers=2):
        super().__init__()
        self.workers = workers
        self.port = port
        self.password = password
        self.url = 'http://%s:%d' % (HOST, port)
        self.auth_url = self.url + '/v3'
        self.admin_password = uuid.uuid4().hex

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir(TMP_ROOT)).path
        self.log = os.path.join(self.dir, 'keystone.log')
        self.config = write_ini(os.path.join(self.dir, 'keystone.conf'), {
            'DEFAULT': {'log_file': self.log},
            'database': {'connection': 'sqlite:///%s' % os.path.join(
                self.dir, 'keystone.sqlite')},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': os.path.join(
                self.dir, 'fernet-keys')},
            'fernet_receipts': {'key_repository': os.path.join(
                self.dir, 'fernet-receipts')},
            # Hashing dominates token issue time; the default is 12.
            'identity': {'password_hash_rounds': '4'},
        })
        setup_log = os.path.join(self.dir, 'keystone-setup.log')
        with open(setup_log, 'wb') as log:
            result = subprocess.run(
                [sys.executable, os.path.join(HERE, 'keystone_wsgi.py'),
                 self.config, self.auth_url, self.admin_password],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, timeout=START_TIMEOUT)
        if result.returncode != 0:
            raise RuntimeError(
                'keystone setup exited with %s; the end of its output:\n%s'
                % (result.returncode, tail(setup_log) + tail(self.log)))
        env = dict(os.environ, OS_KEYSTONE_CONFIG_FILES=self.config)
        self.process = Process(
            'keystone (gunicorn)',
            [sys.executable, '-m', 'gunicorn', '--bind',
             '%s:%d' % (HOST, self.port), '--workers', str(self.workers),
             # Loaded once, before the workers fork (it opens no database
             # connection while it initializes), and before it listens.
             '--preload', '--graceful-timeout', '5', '--timeout', '60',
             '--pythonpath', HERE]
            + _no_control_socket() + ['keystone_wsgi:application'],
            os.path.join(self.dir, 'gunicorn.log'), env=env, cwd=self.dir)
        self.addCleanup(self.process.stop)
        wait_for_http(self.process, self.auth_url,
                      time.monotonic() + START_TIMEOUT)

    def admin_session(self):
        """A keystoneauth session of Keystone's bootstrap admin."""
        from keystoneauth1.identity import v3
        from keystoneauth1 import session as ks_session
        return ks_session.Session(auth=v3.Password(
            auth_url=self.auth_url, username='admin',
            password=self.admin_password, project_name='admin',
            user_domain_name=DOMAIN, project_domain_name=DOMAIN))

    def populate(self, users, endpoints):
        """Projects, users with their roles, services and endpoints.

        :param users: {user name: (project name, role or roles)}; every
            user has ``self.password``.
        :param endpoints: [(service type, service name, region, URL)],
            public endpoints; a region not yet known is created.
        :returns: {project name: project id}
        """
        admin = self.admin_session()

        def call(method, path, body=None):
            response = admin.request(self.auth_url + path, method, json=body)
            return response.json() if response.content else None

        roles = {role['name']: role['id']
                 for role in call('GET', '/roles')['roles']}
        projects = {}
        for name in sorted({project for project, _ in users.values()}):
            projects[name] = call('POST', '/projects', {'project': {
                'name': name, 'domain_id': 'default'}})['project']['id']
        for user, (project, user_roles) in sorted(users.items()):
            user_id = call('POST', '/users', {'user': {
                'name': user, 'password': self.password,
                'domain_id': 'default',
                'default_project_id': projects[project]}})['user']['id']
            for role in ((user_roles,) if isinstance(user_roles, str)
                         else user_roles):
                call('PUT', '/projects/%s/users/%s/roles/%s'
                     % (projects[project], user_id, roles[role]))
        regions = {region['id'] for region in call('GET',
                                                   '/regions')['regions']}
        services = {}
        for service_type, name, region, url in endpoints:
            if region not in regions:
                call('POST', '/regions', {'region': {'id': region}})
                regions.add(region)
            if service_type not in services:
                services[service_type] = call('POST', '/services', {
                    'service': {'type': service_type,
                                'name': name}})['service']['id']
            call('POST', '/endpoints', {'endpoint': {
                'service_id': services[service_type], 'interface': 'public',
                'region_id': region, 'url': url}})
        return projects

    def seed(self, compute_url):
        """The peers' projects and users; the compute endpoint.

        :returns: {project name: project id}
        """
        return self.populate(USERS, [('compute', 'nova', REGION,
                                      compute_url)])


# interface-attach-api

class InterfaceAttachApi(fixtures.Fixture):
    """interface-attach-api with the keystone pipeline; ``wait()`` for it."""

    def __init__(self, port, keystone, service_password):
        super().__init__()
        self.port = port
        self.keystone = keystone
        self.service_password = service_password
        self.url = 'http://%s:%d' % (HOST, port)

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir(TMP_ROOT)).path
        self.log = os.path.join(self.dir, 'interface-attach.log')
        self.config = write_ini(
            os.path.join(self.dir, 'interface-attach.conf'), {
                'DEFAULT': {'log_file': self.log},
                'api': {'bind_host': HOST, 'bind_port': str(self.port),
                        'workers': '2', 'auth_strategy': 'keystone',
                        'db_sync_on_start': 'true'},
                'database': {'connection': 'sqlite:///%s' % os.path.join(
                    self.dir, 'interface-attach.sqlite')},
                'network': {'allow_duplicate_networks': 'true'},
                'keystone_authtoken': {
                    'www_authenticate_uri': self.keystone.auth_url,
                    'auth_url': self.keystone.auth_url,
                    'auth_type': 'password',
                    'username': SERVICE_USER,
                    'password': self.service_password,
                    'project_name': 'service',
                    'user_domain_name': DOMAIN,
                    'project_domain_name': DOMAIN,
                    'region_name': REGION,
                    'interface': 'public',
                },
            })
        command = os.path.join(BIN_DIR, 'interface-attach-api')
        argv = ([command] if os.path.exists(command)
                else [sys.executable, '-m', 'interface_attach.cmd.api'])
        self.process = Process(
            'interface-attach-api', argv + ['--config-file', self.config],
            os.path.join(self.dir, 'interface-attach-api.out'),
            cwd=self.dir)
        self.addCleanup(self.process.stop)

    def wait(self):
        # preload_app: the pipeline is loaded before the socket listens.
        wait_for_http(self.process, self.url + '/',
                      time.monotonic() + START_TIMEOUT)


class Store:
    """The server's embedded store, opened on the same SQLite file.

    Servers, networks, subnets and ports are created here, as an operator
    does with interface-attach-manage; the tests read ports' bindings back
    (the ``device_id`` tempest reads from Neutron).
    """

    _cidrs = itertools.count(1)

    def __init__(self, config_file):
        from interface_attach import conf as ia_conf
        from interface_attach.db import engine
        from interface_attach.db import networks
        from interface_attach.db import servers

        conf = ia_conf.new_conf(config_files=[config_file])
        self.database = engine.Database(conf.database)
        self.servers = servers.ServerStore(self.database)
        self.networks = networks.NetworkStore(self.database)

    def close(self):
        self.database.dispose()

    def server(self, project_id, name=None):
        return self.servers.create(project_id, name or unique('server'),
                                   host='peers')

    def network(self, project_id, name=None):
        """A network with one IPv4 /24 subnet: (network id, subnet)."""
        network = self.networks.create_network(project_id,
                                               name or unique('net'))
        n = next(self._cidrs)
        subnet = self.networks.create_subnet(
            network.id, '10.%d.%d.0/24' % (n // 256, n % 256))
        return network.id, subnet

    def port(self, project_id, network_id, fixed_ip=None):
        row, _ = self.networks.create_port(project_id, network_id,
                                           fixed_ip=fixed_ip)
        return row.id

    def device_of(self, port_id):
        row, _ = self.networks.get_port(port_id)
        return row.device_id

    def ports_of(self, server_id):
        return {row.id: (row, ips) for row, ips in
                self.networks.list_ports_with_ips(device_id=server_id)}


class Peers(fixtures.Fixture):
    """Keystone, interface-attach-api and the embedded store, seeded."""

    def _setUp(self):
        # Whatever proxy the environment names, 127.0.0.1 is reached
        # directly (by requests in this process and by the commands).
        for name in ('no_proxy', 'NO_PROXY'):
            self.useFixture(fixtures.EnvironmentVariable(
                name, ','.join(filter(None, (os.environ.get(name),
                                             HOST, 'localhost')))))
        self.password = uuid.uuid4().hex
        keystone_port, api_port = free_ports(2)
        self.keystone = Keystone(keystone_port, self.password)
        # The API starts while Keystone is prepared; auth_token only talks
        # to Keystone on the first request.
        self.api = self.useFixture(
            InterfaceAttachApi(api_port, self.keystone, self.password))
        self.useFixture(self.keystone)
        self.compute_url = self.api.url + '/v2.1'
        self.projects = self.keystone.seed(self.compute_url)
        self.api.wait()
        self.store = Store(self.api.config)
        self.addCleanup(self.store.close)
        # beta's only network: attaching with no network picks it.
        self.beta_network_id, self.beta_subnet = self.store.network(
            self.projects['beta'], 'beta-net')
        self._sessions = {}

    @property
    def auth_url(self):
        return self.keystone.auth_url

    def project_of(self, user):
        return self.projects[USERS[user][0]]

    def session(self, user):
        """A keystoneauth session of ``user``, scoped to its project."""
        if user not in self._sessions:
            from keystoneauth1.identity import v3
            from keystoneauth1 import session as ks_session
            self._sessions[user] = ks_session.Session(auth=v3.Password(
                auth_url=self.auth_url, username=user,
                password=self.password, project_name=USERS[user][0],
                user_domain_name=DOMAIN, project_domain_name=DOMAIN))
        return self._sessions[user]

    def token(self, user):
        return self.session(user).get_token()

    def surface_url(self, surface, user):
        """The base URL of ``surface`` ('v2' or 'v2.1') for ``user``."""
        if surface == 'v2':
            return '%s/v2/%s' % (self.api.url, self.project_of(user))
        return self.compute_url

    def os_environ(self, user):
        """The environment of an ``openstack`` command run as ``user``."""
        return os_environ(self.auth_url, user, self.password,
                          USERS[user][0])


def os_environ(auth_url, user, password, project, region=REGION):
    """The environment of an ``openstack`` command: ``user``'s password."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('OS_')}
    env.update({
        'OS_AUTH_URL': auth_url, 'OS_AUTH_TYPE': 'password',
        'OS_IDENTITY_API_VERSION': '3', 'OS_USERNAME': user,
        'OS_PASSWORD': password, 'OS_PROJECT_NAME': project,
        'OS_USER_DOMAIN_NAME': DOMAIN, 'OS_PROJECT_DOMAIN_NAME': DOMAIN,
        'OS_REGION_NAME': region, 'OS_INTERFACE': 'public',
    })
    return env


class Unavailable:
    """What the tests get when the peers failed to start: the reason."""

    def __init__(self, reason):
        self.reason = reason


def _reason(error):
    if isinstance(error, fixtures.MultipleExceptions):
        error = error.args[0][1]
    return '%s: %s' % (type(error).__name__, error)


class PeersManager(testresources.TestResourceManager):
    """One ``Peers`` for every test of a suite that declares it."""

    setUpCost = 100
    tearDownCost = 10

    def make(self, dependency_resources):
        peers = Peers()
        try:
            peers.setUp()
        except Exception as e:
            # setUp stopped whatever had started; every test reports this.
            return Unavailable('The real peers did not start: %s'
                               % _reason(e))
        return peers

    def clean(self, peers):
        if isinstance(peers, Peers):
            peers.cleanUp()

    def hold_outside_suites(self):
        """Keep the peers for the process when no suite holds them.

        An OptimisingTestSuite holds the peers from before its first test
        to after its last. A test run without one (``testtools.run`` of a
        class or a test) would start and stop peers for every test; such a
        run keeps them until the interpreter exits instead.
        """
        if self._uses == 0:
            atexit.register(self.finishedWith, self.getResource())


PEERS = PeersManager()


def optimising_suite(loader, standard_tests, pattern):
    """A ``load_tests`` that shares the peers among a module's tests."""
    return testresources.OptimisingTestSuite(standard_tests)
