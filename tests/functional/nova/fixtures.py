"""A real Nova 34 cloud on 127.0.0.1 for the functional tests.

``NovaCloud`` starts, on fresh MariaDB databases (127.0.0.1:3306, root)
and a RabbitMQ vhost of its own (127.0.0.1:5672, guest):

* Neutron: the ``NeutronFixture`` of ``tests/functional/neutron`` with a
  policy override (``service_api``: the role ``service`` *or admin*; Neutron
  29 lets only ``service`` change ``binding:profile`` and Neutron's noauth
  context is an admin without it);
* Placement under gunicorn, ``[api] auth_strategy = noauth2`` (Nova calls it
  with ``auth_type = admin_token``, token ``admin``);
* a Glance stub in a thread (``image_stub``) knowing one image;
* nova-conductor, nova-scheduler and two nova-compute processes running the
  drivers of ``fake_virt``: ``compute_host`` (attach fails for networks
  named ``fail-attach...``) and ``noattach_host`` (cannot hot-plug; boot
  there with ``host=cloud.noattach_host``, an admin's forced host);
* two nova-api services under gunicorn serving Nova's own api-paste.ini
  with ``[filter:authtoken]`` replaced by interface-attach's noauth filter
  (``X-Auth-Token: user:project[:roles]``): ``filtered`` has the
  interface-attach filter just before ``osapi_compute_app_v21`` in both
  compute pipelines (configured from ``ia_config``, its database migrated
  by interface-attach-manage), ``stock`` has none.

With ``keystone=True`` (``keystone.CloudKeystone``), Keystone is in front
instead: nova-api keeps Nova's keystonemiddleware ``authtoken``, Neutron
runs ``auth_strategy = keystone`` with no policy override, Nova reaches
Neutron with its service user's password and sends its service token with
the user's (``[service_user] send_service_user_token``), and the tokens of
``tokens`` are Keystone's. ``KEYSTONE_CLOUD`` shares one such cloud among
the classes of a test process.

Start it once per class or module (it takes a minute or more). Cleanup
stops every process group, drops the databases and the vhost. Missing
nova, placement, neutron, gunicorn or PyMySQL, or an unreachable MariaDB or
RabbitMQ, skip with the reason.
"""

import atexit
import concurrent.futures
import configparser
import http.client
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
import uuid

import fixtures

from tests.functional.neutron import fixtures as neutron_fixtures
from tests.functional.nova import image_stub
from tests.functional.nova import keystone as keystone_fixtures

REPO = neutron_fixtures.REPO
BIN = os.path.dirname(sys.executable)
RABBIT_HOST = '127.0.0.1'
RABBIT_PORT = 5672
START_TIMEOUT = 120
#: Seconds all services get, together, to exit on SIGTERM before SIGKILL.
STOP_TIMEOUT = 5

#: ``compute_main`` publishes ``fake_virt`` as ``nova.virt.<this>``; not
#: imported here: importing nova in the test process would import eventlet.
VIRT_MODULE = 'ia_fake_virt'
COMPUTE_HOST = 'ia-compute-active'
NOATTACH_HOST = 'ia-noattach-active'
DRIVERS = {COMPUTE_HOST: 'AttachFakeDriver',
           NOATTACH_HOST: 'NoAttachFakeDriver'}

#: Neutron 29 gives ``binding:profile`` and compute ports' deletion to the
#: ``service`` role only; its noauth context is admin, member, reader.
NEUTRON_POLICY = {'service_api': 'role:service or role:admin'}
NEUTRON_CONFIG = {'DEFAULT': {'notify_nova_on_port_status_changes': 'false',
                              'notify_nova_on_port_data_changes': 'false'}}

# If a Nova wheel ships no etc/nova/api-paste.ini: Nova 34's, the parts
# this tier serves (the metadata API is left out).
NOVA_PASTE = """\
[composite:osapi_compute]
use = call:nova.api.openstack.urlmap:urlmap_factory
/: oscomputeversions
/v2: oscomputeversion_legacy_v2
/v2.1: oscomputeversion_v2
/v2/+: openstack_compute_api_v21_legacy_v2_compatible
/v2.1/+: openstack_compute_api_v21

[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log
    sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21

[composite:openstack_compute_api_v21_legacy_v2_compatible]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log
    sizelimit osprofiler authtoken keystonecontext legacy_v2_compatible
    osapi_compute_app_v21

[filter:request_log]
paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory

[filter:compute_req_id]
paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory

[filter:faultwrap]
paste.filter_factory = nova.api.openstack:FaultWrapper.factory

[filter:osprofiler]
paste.filter_factory = nova.profiler:WsgiMiddleware.factory

[filter:sizelimit]
paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = %(http_proxy_to_wsgi)s

[filter:legacy_v2_compatible]
paste.filter_factory = nova.api.openstack:LegacyV2CompatibleWrapper.factory

[app:osapi_compute_app_v21]
paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory

[pipeline:oscomputeversions]
pipeline = cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp

[pipeline:oscomputeversion_v2]
pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi
    oscomputeversionapp_v2

[pipeline:oscomputeversion_legacy_v2]
pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi
    legacy_v2_compatible oscomputeversionapp_v2

[app:oscomputeversionapp]
paste.app_factory = nova.api.openstack.compute.versions:Versions.factory

[app:oscomputeversionapp_v2]
paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = nova

[filter:keystonecontext]
paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
""" % {'http_proxy_to_wsgi':
       'oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory'}

COMPUTE_PIPELINES = ('openstack_compute_api_v21',
                     'openstack_compute_api_v21_legacy_v2_compatible')
NOVA_APP = 'osapi_compute_app_v21'


def skip_unless_available():
    """Raise SkipTest naming what is missing to run a real Nova cloud."""
    for module, package in (('nova', 'nova==34.0.0'),
                            ('placement', 'openstack-placement==16.0.0')):
        if importlib.util.find_spec(module) is None:
            raise unittest.SkipTest(
                '%s is not importable: pip install %s to run the Nova '
                'functional tests' % (module, package))
    for tool in ('nova-manage', 'placement-manage', 'nova-conductor',
                 'nova-scheduler', 'interface-attach-manage'):
        if not os.path.exists(os.path.join(BIN, tool)):
            raise unittest.SkipTest('%s is not installed in %s'
                                    % (tool, BIN))
    neutron_fixtures.skip_unless_available()
    if shutil.which('rabbitmqctl') is None:
        raise unittest.SkipTest('rabbitmqctl is not installed: the Nova '
                                'tier needs a local RabbitMQ')
    import socket
    try:
        socket.create_connection((RABBIT_HOST, RABBIT_PORT), 3).close()
    except OSError as e:
        raise unittest.SkipTest('RabbitMQ at %s:%s is unreachable: %s'
                                % (RABBIT_HOST, RABBIT_PORT, e))


def _rabbitmqctl(*args):
    result = subprocess.run(['rabbitmqctl'] + list(args),
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError('rabbitmqctl %s failed: %s%s' % (
            ' '.join(args), result.stdout, result.stderr))


class RabbitVhost(fixtures.Fixture):
    """A fresh RabbitMQ vhost for guest, deleted afterwards."""

    def _setUp(self):
        self.name = 'ia_nova_%s' % uuid.uuid4().hex[:12]
        _rabbitmqctl('add_vhost', self.name)
        self.addCleanup(_rabbitmqctl, 'delete_vhost', self.name)
        _rabbitmqctl('set_permissions', '-p', self.name, 'guest',
                     '.*', '.*', '.*')
        self.url = 'rabbit://guest:guest@%s:%d/%s' % (
            RABBIT_HOST, RABBIT_PORT, self.name)


class Process(fixtures.Fixture):
    """One service process in a session of its own, output to a log."""

    def __init__(self, name, args, log_file, env=None, stop_timeout=10):
        super().__init__()
        self.name = name
        self.args = args
        self.log_file = log_file
        self.env = env
        self.stop_timeout = stop_timeout

    def _setUp(self):
        with open(self.log_file, 'ab') as log:
            self.process = subprocess.Popen(
                self.args, cwd=REPO, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.addCleanup(self.stop)

    def terminate(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def rss_kb(self):
        """Resident memory of the process's session, in KiB."""
        return _session_rss_kb(self.process.pid)

    def running(self):
        return self.process.poll() is None

    def check(self):
        if not self.running():
            raise RuntimeError('%s exited with %s:\n%s' % (
                self.name, self.process.returncode, self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """``sig``, up to ``timeout`` s to exit, then SIGKILL the group."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=self.stop_timeout
                                  if timeout is None else max(0, timeout))
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        # Whatever is left of the group (gunicorn workers, privsep).
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def log_tail(self, size=6000):
        try:
            with open(self.log_file, 'rb') as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''


def _run(args, what, env=None, timeout=300):
    result = subprocess.run(args, capture_output=True, text=True,
                            timeout=timeout, env=env, cwd=REPO)
    if result.returncode != 0:
        raise RuntimeError('%s failed (%s):\n%s%s' % (
            what, result.returncode, result.stdout[-3000:],
            result.stderr[-5000:]))
    return result.stdout


def _write_ini(path, sections):
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    for name, options in sections.items():
        if name != 'DEFAULT':
            parser.add_section(name)
        for key, value in options.items():
            parser.set(name, key, str(value))
    with open(path, 'w') as f:
        parser.write(f)
    return path


def _merge(defaults, overrides):
    result = {name: dict(options) for name, options in defaults.items()}
    for name, options in (overrides or {}).items():
        result.setdefault(name, {}).update(options)
    return result


def nova_paste_text():
    """Nova's shipped api-paste.ini, else the copy above."""
    for path in (os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini'),
                 '/etc/nova/api-paste.ini'):
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
    return NOVA_PASTE


def edit_paste(text, noauth_config=None, filter_config=None):
    """Nova's paste file, with noauth for authtoken and the filter if given.

    Without ``noauth_config`` Nova's keystonemiddleware authtoken stays.
    """
    parser = configparser.RawConfigParser(strict=False,
                                          interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    if noauth_config is not None:
        parser.remove_section('filter:authtoken')
        parser.add_section('filter:authtoken')
        parser.set('filter:authtoken', 'paste.filter_factory',
                   'interface_attach.api.paste:noauth_filter_factory')
        parser.set('filter:authtoken', 'config_file', noauth_config)
    if filter_config is not None:
        parser.add_section('filter:interface_attach')
        parser.set('filter:interface_attach', 'paste.filter_factory',
                   'interface_attach.api.paste:filter_factory')
        parser.set('filter:interface_attach', 'config_file', filter_config)
        for section in COMPUTE_PIPELINES:
            names = parser.get('composite:' + section, 'keystone').split()
            if names[-1] != NOVA_APP:
                raise RuntimeError('%s does not end with %s: %s'
                                   % (section, NOVA_APP, names))
            names.insert(len(names) - 1, 'interface_attach')
            parser.set('composite:' + section, 'keystone', ' '.join(names))
    lines = []
    for section in parser.sections():
        lines.append('[%s]' % section)
        lines.extend('%s = %s' % (key, value.replace('\n', '\n    '))
                     for key, value in parser.items(section))
        lines.append('')
    return '\n'.join(lines)


class NovaCloud(fixtures.Fixture):
    """Nova, Placement, Neutron and a Glance stub; two nova-api services.

    :param ia_config: sections (a dict of dicts) merged over the defaults
        of the filter's interface-attach configuration file.
    :param nova_config: sections merged over nova.conf's (every service).
    :param api_workers: gunicorn workers per nova-api service.
    :param noattach_compute: whether to run the second nova-compute,
        ``noattach_host``, whose driver cannot attach interfaces.
    :param keystone: a Keystone (``keystone.CloudKeystone``) in front of
        nova-api and Neutron instead of the noauth filter: the tokens are
        Keystone's, the projects ``alpha`` (A) and ``beta`` (B).
    :param neutron_service_plugins: Neutron's, e.g. ``router``.
    """

    APIS = ('filtered', 'stock')

    def __init__(self, ia_config=None, nova_config=None, api_workers=2,
                 api_threads=4, noattach_compute=True, keystone=False,
                 neutron_service_plugins=''):
        super().__init__()
        self.keystone = (keystone_fixtures.CloudKeystone() if keystone
                         else None)
        self.neutron_service_plugins = neutron_service_plugins
        self.ia_config_overrides = ia_config
        self.nova_config_overrides = nova_config
        self.api_workers = api_workers
        self.api_threads = api_threads
        self.compute_hosts = [COMPUTE_HOST] + (
            [NOATTACH_HOST] if noattach_compute else [])
        self.compute_host = COMPUTE_HOST
        self.noattach_host = NOATTACH_HOST if noattach_compute else None
        self.project_a = uuid.uuid4().hex
        self.project_b = uuid.uuid4().hex
        self.tokens = {
            'admin_a': 'admin-a:%s:admin' % self.project_a,
            'member_a': 'member-a:%s:member' % self.project_a,
            'reader_a': 'reader-a:%s:reader' % self.project_a,
            'member_b': 'member-b:%s:member' % self.project_b,
        }
        self.processes = {}
        self.ports = {}
        self.timings = {}

    # Tokens by name, for readability in tests.
    admin_a = property(lambda self: self.tokens['admin_a'])
    member_a = property(lambda self: self.tokens['member_a'])
    reader_a = property(lambda self: self.tokens['reader_a'])
    member_b = property(lambda self: self.tokens['member_b'])

    def _setUp(self):
        skip_unless_available()
        stop_idle_shared_clouds()
        try:
            self._start()
        except Exception as e:
            # The logs go with the temporary directory at cleanup.
            raise RuntimeError('The Nova cloud did not start: %s\n%s'
                               % (e, self.logs())) from e

    def _start(self):
        started = time.monotonic()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.vhost = self.useFixture(RabbitVhost())
        self.databases = {
            name: self.useFixture(neutron_fixtures.MySQLDatabase(
                'ia_nova_' + name))
            for name in ('api', 'cell0', 'cell1', 'placement', 'ia')}
        self.image = self.useFixture(image_stub.ImageService())
        self.image_id = self.image.image_id
        self._mark('databases, vhost', started)

        # Neutron's migrations, Placement's and Nova's (and Keystone's
        # set-up) run side by side.
        self._t0 = started
        if self.keystone:
            # The catalog names nova-api's ports before they start.
            for api in self.APIS:
                self.ports[api] = neutron_fixtures.free_port()
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            neutron = pool.submit(self._start_neutron)
            placement = pool.submit(self._migrate_placement)
            nova = pool.submit(self._migrate_nova)
            if self.keystone:
                # In this thread: Keystone's gunicorn gets the parent-death
                # signal when the thread that started it ends.
                self._start_keystone()
            self.neutron = neutron.result()
            placement.result()
            nova.result()
        self._mark('neutron up, placement and nova migrated', started)
        if self.keystone:
            self._populate_keystone()
        self._write_nova_configs()
        self._start_placement()
        for name in ('conductor', 'scheduler'):
            self._start_service(name, [os.path.join(BIN, 'nova-' + name)]
                                + self._nova_args())
        for host in self.compute_hosts:
            self._start_compute(host)
        self._write_ia_configs()
        for api in self.APIS:
            self._start_api(api)
        self.addCleanup(self._stop_processes)
        self._wait_for_placement()
        self._discover_hosts()
        self._mark('computes discovered', started)
        for api in self.APIS:
            self._wait_for_api(api)
        self._mark('apis serving', started)
        self.flavor_id = self._create_flavor()
        self.timings['start'] = time.monotonic() - started
        self.addCleanup(self._mark_stop)

    def _mark(self, what, since):
        self.timings[what] = round(time.monotonic() - since, 1)

    def _mark_stop(self):
        self._stop_started = time.monotonic()

    def _stop_processes(self):
        """Every service told to stop at once; then each waited for."""
        for process in self.processes.values():
            process.terminate()
        if self.neutron.process.poll() is None:
            os.killpg(self.neutron.process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in reversed(list(self.processes.values())):
            process.stop(timeout=deadline - time.monotonic())

    def memory_mb(self):
        """Resident memory of every process of the cloud, in MiB."""
        total = sum(p.rss_kb() for p in self.processes.values())
        total += _session_rss_kb(self.neutron.process.pid)
        return total // 1024

    # Pieces.

    def _start_keystone(self):
        try:
            self.keystone.setUp()
        finally:
            self.addCleanup(self.keystone.cleanUp)
        self._mark('keystone', self._t0)

    def _populate_keystone(self):
        self.keystone.populate(
            {api: self.url(api) for api in self.APIS}, self.neutron.url)
        self.project_a = self.keystone.projects['alpha']
        self.project_b = self.keystone.projects['beta']
        self.tokens = {name: self.keystone.token(user) for name, user
                       in keystone_fixtures.CALLERS.items()}
        self._mark('keystone populated', self._t0)

    def _start_neutron(self):
        if self.keystone:
            # No policy override: Nova's service token is what Neutron 29
            # asks for to unbind or delete a compute port.
            neutron = neutron_fixtures.NeutronFixture(
                config=NEUTRON_CONFIG,
                keystone_authtoken=self.keystone.authtoken('neutron'),
                token=self.keystone.token,
                service_plugins=self.neutron_service_plugins)
        else:
            neutron = neutron_fixtures.NeutronFixture(
                policy=NEUTRON_POLICY, config=NEUTRON_CONFIG,
                service_plugins=self.neutron_service_plugins)
        # Set up here, cleaned up with this fixture (useFixture is not
        # thread-safe with the main thread's useFixture calls).
        try:
            neutron.setUp()
        finally:
            self.addCleanup(neutron.cleanUp)
        self._mark('neutron', self._t0)
        return neutron

    def _migrate_placement(self):
        self.ports['placement'] = neutron_fixtures.free_port()
        self.placement_url = 'http://127.0.0.1:%d' % self.ports['placement']
        self.placement_dir = os.path.join(self.dir, 'placement')
        os.makedirs(self.placement_dir)
        _write_ini(os.path.join(self.placement_dir, 'placement.conf'), {
            'DEFAULT': {'debug': 'false'},
            'api': {'auth_strategy': 'noauth2'},
            'placement_database': {
                'connection': self.databases['placement'].url},
        })
        _run([os.path.join(BIN, 'placement-manage'), '--config-dir',
              self.placement_dir, 'db', 'sync'], 'placement-manage db sync')
        self._mark('placement migrated', self._t0)

    def _start_placement(self):
        port = self.ports['placement']
        self._start_service('placement', [
            sys.executable, '-m', 'gunicorn', '--workers', '1',
            '--threads', '8', '--bind', '127.0.0.1:%d' % port,
            '--timeout', '120', '--graceful-timeout', '3',
            'tests.functional.nova.placement_wsgi:application'],
            env={'OS_PLACEMENT_CONFIG_DIR': self.placement_dir})

    def _nova_sections(self):
        state = os.path.join(self.dir, 'nova-state')
        return _merge({
            'DEFAULT': {
                'host': 'ia-controller',
                'transport_url': self.vhost.url,
                'state_path': state,
                'instances_path': os.path.join(state, 'instances'),
                'compute_driver': '%s.%s' % (VIRT_MODULE,
                                             DRIVERS[COMPUTE_HOST]),
                'my_ip': '127.0.0.1',
                'debug': 'false',
                'use_stderr': 'true',
                'rpc_response_timeout': '60',
                'graceful_shutdown_timeout': '5',
                'heal_instance_info_cache_interval': '-1',
                'use_rootwrap_daemon': 'false',
            },
            'api': {'max_limit': '1000'},
            'api_database': {'connection': self.databases['api'].url},
            'database': {'connection': self.databases['cell1'].url},
            'conductor': {'workers': '1'},
            # The scheduler maps new compute hosts to cell1 (what
            # nova-manage cell_v2 discover_hosts does), every 2 s.
            'scheduler': {'workers': '1',
                          'discover_hosts_in_cells_interval': '2'},
            'glance': {'api_servers': self.image.url},
            # Placement stays noauth2 in both modes.
            'placement': {'auth_type': 'admin_token', 'token': 'admin',
                          'endpoint_override': self.placement_url},
            'neutron': dict(self._neutron_auth(),
                            endpoint_override=self.neutron.url,
                            default_floating_pool='public'),
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'lock')},
            'oslo_messaging_notifications': {'driver': 'noop'},
            'os_vif_ovs': {'ovsdb_connection': 'tcp:127.0.0.1:6640'},
            'cinder': {'os_region_name': 'RegionOne'},
            'cache': {'enabled': 'false'},
        }, _merge(self._nova_keystone_sections(),
                  self.nova_config_overrides))

    def _neutron_auth(self):
        """How Nova and the filter authenticate to Neutron."""
        if self.keystone:
            return dict(self.keystone.password_auth('nova'),
                        region_name=keystone_fixtures.FILTERED_REGION)
        return {'auth_type': 'admin_token', 'token': 'admin'}

    def _nova_keystone_sections(self):
        if not self.keystone:
            return {}
        return {
            'keystone_authtoken': self.keystone.authtoken('nova'),
            # Neutron 29 unbinds and deletes compute:* ports for the
            # service role only: Nova sends its token with the user's.
            'service_user': dict(self.keystone.password_auth('nova'),
                                 send_service_user_token='true'),
        }

    def _migrate_nova(self):
        """The API database, the cell mappings, cell1's and cell0's schemas.

        In one process (``manage_main``); the endpoints are written to
        nova.conf later, once the services have ports.
        """
        self.nova_conf = _write_ini(os.path.join(self.dir, 'nova.conf'), {
            'DEFAULT': {'transport_url': self.vhost.url, 'debug': 'false'},
            'api_database': {'connection': self.databases['api'].url},
            'database': {'connection': self.databases['cell1'].url}})
        _run([sys.executable, '-m', 'tests.functional.nova.manage_main',
              self.nova_conf, self.databases['cell0'].url],
             'nova-manage steps (manage_main)',
             env=dict(os.environ, PYTHONPATH=REPO))
        self._mark('nova migrated', self._t0)

    def _write_nova_configs(self):
        os.makedirs(os.path.join(self.dir, 'nova-state', 'instances'))
        _write_ini(self.nova_conf, self._nova_sections())
        self.compute_confs = {}
        for host in self.compute_hosts:
            state = os.path.join(self.dir, 'state-' + host)
            os.makedirs(os.path.join(state, 'instances'))
            self.compute_confs[host] = _write_ini(
                os.path.join(self.dir, 'compute-%s.conf' % host), {
                    'DEFAULT': {
                        'host': host, 'state_path': state,
                        'instances_path': os.path.join(state, 'instances'),
                        'compute_driver': '%s.%s' % (VIRT_MODULE,
                                                     DRIVERS[host])}})

    def _nova_args(self, *extra_files):
        args = ['--config-file', self.nova_conf]
        for path in extra_files:
            args += ['--config-file', path]
        return args

    def _start_service(self, name, args, env=None):
        environ = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
        process = self.useFixture(Process(
            name, args, os.path.join(self.dir, '%s.log' % name),
            env=environ))
        self.processes[name] = process
        return process

    def _start_compute(self, host):
        self._start_service('compute-' + host, [
            sys.executable, '-m', 'tests.functional.nova.compute_main']
            + self._nova_args(self.compute_confs[host]))

    def _write_ia_configs(self):
        # With Keystone, Nova's auth_token stays in the pipelines and the
        # filter reads the caller from Nova's context.
        self.noauth_conf = None if self.keystone else _write_ini(
            os.path.join(self.dir, 'noauth.conf'),
            {'api': {'auth_strategy': 'noauth'}})
        self.ia_sections = _merge({
            'DEFAULT': {'debug': 'false'},
            'api': {'auth_strategy': 'keystone' if self.keystone
                    else 'noauth'},
            'compute': {'backend': 'nova'},
            'database': {'connection': 'mysql+pymysql://%s@%s:%s/%s' % (
                neutron_fixtures.DB_USER, neutron_fixtures.DB_HOST,
                neutron_fixtures.DB_PORT, self.databases['ia'].name)},
            'network': {'driver': 'neutron',
                        'allow_duplicate_networks': 'true'},
            'neutron': dict(
                self._neutron_auth() if self.keystone
                else {'auth_type': 'none'},
                endpoint_override=self.neutron.url),
        }, self.ia_config_overrides)
        self.ia_conf = _write_ini(
            os.path.join(self.dir, 'interface-attach.conf'),
            self.ia_sections)
        _run([os.path.join(BIN, 'interface-attach-manage'),
              '--config-file', self.ia_conf, 'db', 'sync'],
             'interface-attach-manage db sync',
             env=dict(os.environ, PYTHONPATH=REPO))

    def _start_api(self, api):
        port = self.ports.get(api) or neutron_fixtures.free_port()
        self.ports[api] = port
        paste = os.path.join(self.dir, 'api-paste-%s.ini' % api)
        with open(paste, 'w') as f:
            f.write(edit_paste(
                nova_paste_text(), self.noauth_conf,
                self.ia_conf if api == 'filtered' else None))
        api_conf = _write_ini(os.path.join(self.dir, 'api-%s.conf' % api),
                              {'wsgi': {'api_paste_config': paste}})
        self._start_service('api-' + api, [
            sys.executable, '-m', 'gunicorn',
            '--workers', str(self.api_workers),
            '--threads', str(self.api_threads),
            '--bind', '127.0.0.1:%d' % port,
            '--timeout', '120', '--graceful-timeout', '3',
            'tests.functional.nova.nova_wsgi:application'], env={
                'OS_NOVA_CONFIG_DIR': self.dir,
                'OS_NOVA_CONFIG_FILES': ';'.join(
                    [paste, self.nova_conf, api_conf])})

    # Waiting.

    def wait_for(self, predicate, timeout=30, interval=0.3, what=None):
        """predicate()'s first true value within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError('Timed out after %s s waiting for %s'
                                     % (timeout, what or predicate))
            time.sleep(interval)

    def _check_processes(self):
        for process in self.processes.values():
            process.check()

    def _wait_for_placement(self):
        def serving():
            self._check_processes()
            try:
                return _http(self.ports['placement'], 'GET', '/')[0] == 200
            except OSError:
                return False
        self.wait_for(serving, START_TIMEOUT, what='Placement to serve')

    def _compute_nodes(self):
        conn = neutron_fixtures._mysql(self.databases['cell1'].name)
        try:
            with conn.cursor() as cursor:
                cursor.execute('SELECT host FROM compute_nodes '
                               'WHERE deleted = 0')
                return {row[0] for row in cursor.fetchall()}
        finally:
            conn.close()

    def _host_mappings(self):
        conn = neutron_fixtures._mysql(self.databases['api'].name)
        try:
            with conn.cursor() as cursor:
                cursor.execute('SELECT host FROM host_mappings')
                return {row[0] for row in cursor.fetchall()}
        finally:
            conn.close()

    def _discover_hosts(self):
        """Until every compute host is mapped to cell1.

        nova-compute writes its compute_nodes row, then the scheduler's
        periodic discovery maps its host.
        """
        def mapped():
            self._check_processes()
            return set(self.compute_hosts) <= self._host_mappings()
        self.wait_for(mapped, START_TIMEOUT,
                      what='the compute hosts mapped to cell1 (compute '
                           'nodes: %s)' % self._compute_nodes)

    def _wait_for_api(self, api):
        def serving():
            self._check_processes()
            try:
                return self.request(api, 'GET', '/v2.1/flavors',
                                    token=self.member_a)[0] == 200
            except OSError:
                return False
        self.wait_for(serving, START_TIMEOUT, what='nova-api %s' % api)

    def _create_flavor(self):
        flavor_id = 'ia-tiny'
        status, _, body = self.request(
            'stock', 'POST', '/v2.1/flavors', {'flavor': {
                'name': 'ia.tiny', 'id': flavor_id, 'ram': 64, 'vcpus': 1,
                'disk': 1}}, token=self.admin_a)
        if status != 200:
            raise RuntimeError('Creating the flavor: %s %s' % (status, body))
        return flavor_id

    # Helpers for the tests.

    def url(self, api):
        return 'http://127.0.0.1:%d' % self.ports[api]

    def request(self, api, method, path, body=None, token=None,
                headers=None, timeout=60, microversion=None):
        """(status, headers, JSON body or None) of a nova-api request.

        ``api`` is ``filtered`` or ``stock``; ``token`` defaults to the
        member of project A; ``microversion`` sets OpenStack-API-Version.
        """
        all_headers = {'X-Auth-Token': token or self.member_a}
        if microversion:
            all_headers['OpenStack-API-Version'] = 'compute %s' % (
                microversion)
        all_headers.update(headers or {})
        return _http(self.ports[api], method, path, body, all_headers,
                     timeout)

    def boot_server(self, token=None, name='vm', network_id=None,
                    host=None, wait=True, api='stock', timeout=60):
        """A server of the token's project, ACTIVE unless ``wait=False``.

        ``network_id`` None boots with ``networks: none``; ``host`` forces
        the compute host (``availability_zone = nova:<host>``: admin only).
        """
        token = token or self.member_a
        server = {'name': name, 'imageRef': self.image_id,
                  'flavorRef': self.flavor_id,
                  'networks': ('none' if network_id is None
                               else [{'uuid': network_id}])}
        if host is not None:
            server['availability_zone'] = 'nova:%s' % host
        status, _, body = self.request(api, 'POST', '/v2.1/servers',
                                       {'server': server}, token=token,
                                       microversion='2.37')
        if status != 202:
            raise AssertionError('Boot %s: %s %s' % (name, status, body))
        server_id = body['server']['id']
        if not wait:
            return body['server']
        return self.wait_for_server(server_id, token, timeout=timeout)

    def get_server(self, server_id, token=None, api='stock'):
        status, _, body = self.request(api, 'GET',
                                       '/v2.1/servers/%s' % server_id,
                                       token=token or self.admin_a)
        if status == 404:
            return None
        if status != 200:
            raise AssertionError('GET server %s: %s %s'
                                 % (server_id, status, body))
        return body['server']

    def wait_for_server(self, server_id, token=None, status='ACTIVE',
                        timeout=60):
        def reached():
            server = self.get_server(server_id, token)
            if server and server['status'] == 'ERROR' and status != 'ERROR':
                raise AssertionError('Server %s is ERROR: %s\n%s' % (
                    server_id, server.get('fault'),
                    self.log_tail('conductor', 3000)))
            return server if server and server['status'] == status else None
        return self.wait_for(reached, timeout,
                             what='server %s %s' % (server_id, status))

    def delete_server(self, server_id, token=None, wait=True):
        self.request('stock', 'DELETE', '/v2.1/servers/%s' % server_id,
                     token=token or self.admin_a)
        if wait:
            self.wait_for(lambda: self.get_server(server_id) is None, 60,
                          what='server %s deleted' % server_id)

    def log_tail(self, service, size=6000):
        """The end of a service's log.

        placement, conductor, scheduler, compute-<host>, api-filtered,
        api-stock; neutron.
        """
        try:
            if service == 'neutron':
                return self.neutron.log_tail(size)
            if service == 'keystone':
                return self.keystone.log_tail(size)
            return self.processes[service].log_tail(size)
        except (AttributeError, OSError) as e:
            return '(no log: %s)' % e

    def logs(self, size=3000):
        """Every log's tail, for a failure message."""
        names = (['neutron'] + (['keystone'] if self.keystone else [])
                 + list(self.processes))
        return '\n'.join('==== %s ====\n%s' % (name, self.log_tail(name, size))
                         for name in names)

    # Neutron, through the NeutronFixture.

    def create_network(self, project_id=None, name='private', **kwargs):
        return self.neutron.create_network(project_id or self.project_a,
                                           name=name, **kwargs)

    def create_port(self, network_id, project_id=None, **values):
        return self.neutron.create_port(project_id or self.project_a,
                                        network_id, **values)

    def get_port(self, port_id):
        return self.neutron.get_port(port_id)

    def neutron_ports(self, **filters):
        return self.neutron.ports(**filters)


def _session_rss_kb(sid):
    result = subprocess.run(['ps', '-o', 'rss=', '-s', str(sid)],
                            capture_output=True, text=True)
    return sum(int(value) for value in result.stdout.split())


def _http(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    all_headers = {'Accept': 'application/json'}
    if body is not None:
        all_headers['Content-Type'] = 'application/json'
    all_headers.update(headers or {})
    try:
        # A str is sent as it is (malformed JSON, say).
        conn.request(method, path, body=None if body is None else (
            body if isinstance(body, str) else json.dumps(body)),
            headers=all_headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return response.status, dict(response.getheaders()), parsed


class SharedCloud:
    """One Keystone-mode cloud for the classes and modules that share it.

    Starting a cloud costs a minute or more: ``acquire()`` starts it on
    first use and ``release()`` leaves it running, idle, for the next
    class (stestr runs the Nova tier's tests in one process). An idle one
    is stopped before any other cloud starts (a cloud takes 1.3 GB) and at
    interpreter exit.
    """

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.cloud = None
        self.users = 0

    def acquire(self):
        """The cloud; SkipTest, with the reason, where a piece is missing."""
        skip_unless_available()
        if self.kwargs.get('keystone'):
            keystone_fixtures.skip_unless_available()
        if self.cloud is None:
            cloud = NovaCloud(**self.kwargs)
            cloud.setUp()
            self.cloud = cloud
            atexit.register(self.stop)
        self.users += 1
        return self.cloud

    def release(self):
        self.users -= 1

    def stop_if_idle(self):
        if self.cloud is not None and self.users <= 0:
            self.stop()

    def stop(self):
        cloud, self.cloud = self.cloud, None
        if cloud is not None:
            cloud.cleanUp()


#: Keystone in front of nova-api and Neutron; Neutron's router plugin, for
#: tempest's isolated networks; one nova-compute.
KEYSTONE_CLOUD = SharedCloud(keystone=True, noattach_compute=False,
                             neutron_service_plugins='router')


def stop_idle_shared_clouds():
    KEYSTONE_CLOUD.stop_if_idle()
