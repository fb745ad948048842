"""Throughput and latency of interface-attach-api, against a bare WSGI app.

Starts the real service (``python -m interface_attach.cmd.api``: its
gunicorn workers, the shipped api-paste.ini, noauth) on a fresh database seeded
with bulk inserts, drives it over loopback with wrk (a closed loop: each of
``--concurrency`` connections sends its next request when the previous one
is answered), and reports requests per second, p50/p95/p99 latency, worker
CPU milliseconds per request and worker RSS for:

- attach by network then detach, alternating on each connection's own
  server (duplicate networks off never conflicts);
- attach by port then detach, likewise with each connection's own port;
- show one interface; list a server with 1 and with 50 interfaces;
- an error path: the os-interface list of a server that does not exist
  (404 itemNotFound, after a database lookup).

In the same run it serves ``tools/bare_app.py`` (the same gunicorn
settings, a fixed JSON body as large as the show response) and prints each
rate as a ratio to it: the machine may be busy, the ratio is what to
compare. Run with ``tox -e bench`` or::

  python tools/benchmark.py --backends sqlite,postgresql,mysql \\
      --scale 100,10000,100000 --workers 1,2 --output bench.md

PostgreSQL (``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and
MariaDB/MySQL (``mysql+pymysql://root@127.0.0.1:3306/``) are used when
reachable (override with $INTERFACE_ATTACH_BENCH_POSTGRESQL_URL and
$INTERFACE_ATTACH_BENCH_MYSQL_URL); each run creates its own database and
drops it afterwards.
"""

import argparse
import collections
import configparser
import contextlib
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import db_counts

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, 'bench.lua')

ADMIN_URLS = {
    'postgresql': os.environ.get(
        'INTERFACE_ATTACH_BENCH_POSTGRESQL_URL',
        'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'),
    'mysql': os.environ.get('INTERFACE_ATTACH_BENCH_MYSQL_URL',
                            'mysql+pymysql://root@127.0.0.1:3306/'),
}

# Targets on a 2-core machine, 2 workers, 8 clients: ratios to the bare
# app per back end, then SQLite's latency and memory.
TARGET_RATIOS = {
    'sqlite': {'attach-net+detach': 0.15, 'attach-port+detach': 0.18,
               'show': 0.35, 'list-1': 0.35},
    'postgresql': {'attach-net+detach': 0.12, 'attach-port+detach': 0.14,
                   'show': 0.30, 'list-1': 0.30},
}
TARGET_RATIOS['mysql'] = TARGET_RATIOS['postgresql']
TARGET_ATTACH_P99_MS = 25.0
TARGET_RSS_MB = 120.0

SCENARIOS = ('attach-net+detach', 'attach-port+detach', 'show', 'list-1',
             'list-50', 'error-404')
LIST_SIZE = 50
CLK_TCK = os.sysconf('SC_CLK_TCK')

Result = collections.namedtuple(
    'Result', 'backend scale workers scenario rps ratio p50 p95 p99 '
              'cpu_ms bad rss_mb counts')


def log(message):
    sys.stderr.write('[%s] %s\n' % (time.strftime('%H:%M:%S'), message))
    sys.stderr.flush()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def load_average():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


# Databases

@contextlib.contextmanager
def fresh_database(backend, directory):
    """A URL of a new, empty database on ``backend``; dropped afterwards.

    Yields None when the server cannot be reached.
    """
    if backend == 'sqlite':
        path = os.path.join(directory, 'bench-%s.sqlite' % uuid.uuid4().hex)
        yield 'sqlite:///%s' % path
        for suffix in ('', '-wal', '-shm'):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)
        return
    import sqlalchemy as sa

    admin_url = sa.engine.make_url(ADMIN_URLS[backend])
    name = 'ia_bench_%s' % uuid.uuid4().hex[:12]
    admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT',
                             poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE %s' % name)
    except Exception as e:
        log('%s is not reachable at %s: %s; skipped' % (
            backend, admin_url.render_as_string(hide_password=True),
            str(e).splitlines()[0]))
        yield None
        return
    try:
        yield admin_url.set(database=name).render_as_string(
            hide_password=False)
    finally:
        force = ' WITH (FORCE)' if backend == 'postgresql' else ''
        with admin.connect() as conn:
            conn.exec_driver_sql('DROP DATABASE IF EXISTS %s%s'
                                 % (name, force))
        admin.dispose()


class Layout:
    """The ids the scenarios use; everything else is filler."""

    def __init__(self, concurrency):
        new = lambda: str(uuid.uuid4())  # noqa: E731
        self.project = uuid.uuid4().hex
        self.network = new()
        self.subnet = new()
        self.show_server = new()
        self.show_port = new()
        self.list_server = new()
        self.list_networks = [new() for _ in range(LIST_SIZE)]
        self.list_subnets = [new() for _ in range(LIST_SIZE)]
        self.list_ports = [new() for _ in range(LIST_SIZE)]
        self.net_servers = [new() for _ in range(concurrency)]
        self.port_servers = [new() for _ in range(concurrency)]
        self.free_ports = [new() for _ in range(concurrency)]
        self.missing_server = new()


def seed(url, layout, scale):  # noqa: C901
    """Migrate, then bulk-insert ``scale`` servers and ports.

    Filler servers belong to 100 other projects; each has one port on the
    benchmark's shared network (so attach by network allocates addresses
    in a subnet holding ``scale`` of them), attached to it.
    """
    import sqlalchemy as sa

    from interface_attach import conf as ia_conf
    from interface_attach.db import engine
    from interface_attach.db import migration
    from interface_attach.db import networks
    from interface_attach.db import tables

    started = time.monotonic()
    conf = ia_conf.new_conf(config_files=[])
    conf.set_override('connection', url, group='database')
    database = engine.Database(conf.database)
    migration.db_sync(database)
    base_time = datetime.datetime.utcnow() - datetime.timedelta(days=1)
    tick = [0]

    def now():
        tick[0] += 1
        return base_time + datetime.timedelta(microseconds=tick[0])

    subnet = ipaddress.ip_network('10.0.0.0/8')
    next_ip = [2]

    def address():
        next_ip[0] += 1
        return str(subnet[next_ip[0]])

    mac_seq = [0]

    def mac():
        # fa:16:3f never collides with the service's fa:16:3e MACs.
        mac_seq[0] += 1
        n = mac_seq[0]
        return 'fa:16:3f:%02x:%02x:%02x' % (n >> 16 & 255, n >> 8 & 255,
                                            n & 255)

    rows = collections.defaultdict(list)

    def server(server_id, project):
        rows['servers'].append(dict(
            id=server_id, project_id=project, user_id='bench',
            name='bench-%s' % server_id[:8], vm_state='active',
            task_state=None, locked=False, host='localhost',
            availability_zone='nova', launched_at=base_time,
            created_at=now(), updated_at=None, deleted_at=None))

    def port(port_id, project, network, subnet_id, ip, device_id=''):
        rows['ports'].append(dict(
            id=port_id, project_id=project, network_id=network,
            mac_address=mac(), device_id=device_id,
            device_owner='compute:nova' if device_id else '',
            status='ACTIVE' if device_id else 'DOWN', created_at=now(),
            updated_at=None))
        rows['ip_allocations'].append(dict(
            subnet_id=subnet_id, ip_address=ip, port_id=port_id,
            address_key=networks.address_key(ip)))
        if device_id:
            rows['interface_attachments'].append(dict(
                port_id=port_id, server_id=device_id, network_id=network,
                network_guard=network, port_created=False, tag=None,
                state='attached', owner=None, created_at=now(),
                updated_at=None))

    def network(network_id, subnet_id, cidr, shared):
        rows['networks'].append(dict(
            id=network_id, project_id=layout.project, name='bench',
            shared=shared, created_at=now()))
        net = ipaddress.ip_network(cidr)
        rows['subnets'].append(dict(
            id=subnet_id, network_id=network_id, cidr=cidr, ip_version=4,
            gateway_ip=str(net[1]), created_at=now()))

    p = layout.project
    network(layout.network, layout.subnet, str(subnet), True)
    server(layout.show_server, p)
    port(layout.show_port, p, layout.network, layout.subnet, address(),
         layout.show_server)
    server(layout.list_server, p)
    for i in range(LIST_SIZE):
        network(layout.list_networks[i], layout.list_subnets[i],
                '172.16.%d.0/24' % i, False)
        port(layout.list_ports[i], p, layout.list_networks[i],
             layout.list_subnets[i], '172.16.%d.2' % i, layout.list_server)
    for server_id in layout.net_servers + layout.port_servers:
        server(server_id, p)
    for port_id in layout.free_ports:
        port(port_id, p, layout.network, layout.subnet, address())
    for i in range(max(0, scale - len(rows['servers']))):
        server_id = str(uuid.uuid4())
        project = 'filler%02d' % (i % 100)
        server(server_id, project)
        port(str(uuid.uuid4()), project, layout.network, layout.subnet,
             address(), server_id)
    with database.engine.begin() as conn:
        for table in tables.metadata.sorted_tables:
            batch = rows[table.name]
            for i in range(0, len(batch), 5000):
                conn.execute(sa.insert(table), batch[i:i + 5000])
    if database.engine.dialect.name == 'postgresql':
        with database.engine.connect() as conn:
            conn.execution_options(isolation_level='AUTOCOMMIT')
            conn.exec_driver_sql('ANALYZE')
    elif database.engine.dialect.name == 'sqlite':
        with database.engine.begin() as conn:
            conn.exec_driver_sql('ANALYZE')
    database.dispose()
    log('seeded %d servers, %d ports in %.1f s' % (
        len(rows['servers']), len(rows['ports']),
        time.monotonic() - started))


# Processes

def children(pid):
    """Pids whose parent is ``pid`` (the gunicorn workers of a master)."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open('/proc/%d/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def rss_mb(pid):
    with contextlib.suppress(OSError):
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
    return 0.0


class Service:
    """A server process (the API or the bare app) on a port, with workers."""

    def __init__(self, argv, port, workers, output, env=None):
        self.port = port
        self.output = output
        with open(output, 'ab') as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, env=dict(os.environ, **env or {}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                with open(output) as f:
                    raise RuntimeError('%s exited: %s' % (argv, f.read()))
            if len(children(self.process.pid)) >= workers:
                try:
                    self.request('GET', '/')
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError('%s did not listen in 60 s' % argv)

    def workers(self):
        return children(self.process.pid)

    def request(self, method, path, body=None, token=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        headers = {'Accept': 'application/json'}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        if token:
            headers['X-Auth-Token'] = token
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_api(directory, url, port, workers, env=None):
    parser = configparser.ConfigParser()
    parser.read_dict({
        'DEFAULT': {'log_file': os.path.join(directory, 'api.log'),
                    'debug': 'false'},
        'api': {'bind_host': '127.0.0.1', 'bind_port': str(port),
                'workers': str(workers), 'auth_strategy': 'noauth',
                'db_sync_on_start': 'false',
                'demo_data_on_start': 'false'},
        'database': {'connection': url},
        'network': {'driver': 'local'},
    })
    path = os.path.join(directory, 'interface-attach.conf')
    with open(path, 'w') as f:
        parser.write(f)
    service = Service([sys.executable, '-m', 'interface_attach.cmd.api',
                       '--config-file', path], port, workers,
                      os.path.join(directory, 'api.out'), env)
    service.config_file = path
    return service


def start_bare(directory, port, workers, body_size):
    return Service([sys.executable, os.path.join(HERE, 'bare_app.py'),
                    '--port', str(port), '--workers', str(workers),
                    '--body-size', str(body_size)], port, workers,
                   os.path.join(directory, 'bare.out'))


# Load

def percentile(values, p):
    if not values:
        return float('nan')
    values = sorted(values)
    return values[max(0, min(len(values) - 1,
                             int(round(p * len(values) + 0.5)) - 1))]


def run_wrk(service, path, args, concurrency, duration, directory):
    """(requests/s, {kind: [latency ms]}, unexpected statuses, cpu ms/req).

    One wrk thread per connection (the Lua state is per thread).
    """
    out = tempfile.mkdtemp(dir=directory, prefix='wrk-')
    workers = service.workers()
    ticks = cpu_ticks(workers)
    command = ['wrk', '-t', str(concurrency), '-c', str(concurrency),
               '-d', '%ds' % duration, '--timeout', '30s', '-s', LUA,
               'http://127.0.0.1:%d%s' % (service.port, path), '--',
               args[0], args[1], out] + list(args[2:])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError('wrk failed: %s %s' % (result.stdout,
                                                  result.stderr))
    cpu = (cpu_ticks(workers) - ticks) * 1000.0 / CLK_TCK
    latencies = collections.defaultdict(list)
    unexpected = collections.Counter()
    expect = {'attach': '200', 'detach': '202', 'get': args[1]}
    total = 0
    for name in os.listdir(out):
        with open(os.path.join(out, name)) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                kind, micros, status = parts
                total += 1
                latencies[kind].append(int(micros) / 1000.0)
                if status != expect[kind]:
                    unexpected['%s:%s' % (kind, status)] += 1
    shutil.rmtree(out)
    seconds = float(duration)
    for line in result.stdout.splitlines():
        # "  2088 requests in 3.07s, 866.74KB read"
        if ' requests in ' in line:
            value = line.split(' requests in ')[1].split(',')[0]
            seconds = _seconds(value)
    return (total / seconds, latencies, unexpected,
            cpu / total if total else float('nan'))


def _seconds(value):
    for suffix, factor in (('ms', 0.001), ('us', 1e-6), ('m', 60.0),
                           ('h', 3600.0), ('s', 1.0)):
        if value.endswith(suffix):
            return float(value[:-len(suffix)]) * factor
    return float(value)


class Bench:

    def __init__(self, args, directory):
        self.args = args
        self.directory = directory
        self.results = []
        self.profiles = []
        self.counts = {}

    def run(self, backend, scale, workers, url, layout):
        args = self.args
        log('%s, %d servers, %d workers' % (backend, scale, workers))
        api = start_api(self.directory, url, free_port(), workers,
                        dict(v.split('=', 1) for v in args.api_env))
        bare = None
        try:
            token = 'bench:%s' % layout.project
            prefix = '/v2/%s' % layout.project
            show_path = '%s/servers/%s/os-interface/%s' % (
                prefix, layout.show_server, layout.show_port)
            status, body = api.request('GET', show_path, token=token)
            if status != 200:
                raise RuntimeError('show answered %s: %s' % (status, body))
            self.counts = self._count(api, url, layout, token, show_path)
            bare = start_bare(self.directory, free_port(), workers,
                              len(body))
            paths = {
                'show': show_path,
                'list-1': '%s/servers/%s/os-interface' % (
                    prefix, layout.show_server),
                'list-50': '%s/servers/%s/os-interface' % (
                    prefix, layout.list_server),
                'error-404': '%s/servers/%s/os-interface' % (
                    prefix, layout.missing_server),
            }
            c = args.concurrency
            cycles = {
                'attach-net+detach': ('net', ','.join(
                    '%s/%s' % (s, layout.network)
                    for s in layout.net_servers[:c])),
                'attach-port+detach': ('port', ','.join(
                    '%s/%s' % (s, p) for s, p in zip(
                        layout.port_servers[:c], layout.free_ports[:c]))),
            }
            bare_rps, bare_lat, _, bare_cpu = self._measure(
                bare, '/', ('get', '200'))
            rss = max(rss_mb(pid) for pid in bare.workers())
            self._add(backend, scale, workers, 'bare app', None, bare_rps,
                      1.0, bare_lat['get'], bare_cpu, 0, rss)
            bare.stop()
            bare = None
            for scenario in SCENARIOS:
                if scenario in cycles:
                    kind, pairs = cycles[scenario]
                    self._detach_all(api, layout, token)
                    wrk_args = ('cycle', '0', kind, pairs)
                    path = prefix
                else:
                    wrk_args = ('get', '404' if scenario == 'error-404'
                                else '200')
                    path = paths[scenario]
                rps, lat, bad, cpu = self._measure(api, path, wrk_args)
                rss = max(rss_mb(pid) for pid in api.workers())
                everything = [v for values in lat.values() for v in values]
                self._add(backend, scale, workers, scenario, scenario, rps,
                          rps / bare_rps, everything, cpu, sum(bad.values()),
                          rss)
                if bad:
                    log('  unexpected statuses: %s' % dict(bad))
                if scenario in cycles:
                    seconds = sum(len(v) for v in lat.values()) / rps
                    for kind in ('attach', 'detach'):
                        self._add(backend, scale, workers,
                                  '  %s only' % kind, (scenario, kind),
                                  len(lat[kind]) / seconds,
                                  len(lat[kind]) / seconds / bare_rps,
                                  lat[kind], None, None, None)
                if (args.profile and scenario in args.profile_scenarios
                        and workers == max(args.workers)
                        and scale == min(args.scale)):
                    self._detach_all(api, layout, token)
                    self._profile(api, path, wrk_args, backend, scale,
                                  workers, scenario)
            self._detach_all(api, layout, token)
        finally:
            if bare is not None:
                bare.stop()
            api.stop()

    def _count(self, api, url, layout, token, show_path):
        """{scenario or (scenario, kind): database work per request}."""
        prefix = '/v2/%s/servers/' % layout.project
        attach = '{"interfaceAttachment": {"%s": "%s"}}'
        requests = [db_counts.Request(
            (name, 'attach'), 'POST', prefix + server + '/os-interface',
            attach % (key, value), 200, (name, 'detach'))
            for name, key, server, value in (
                ('attach-net+detach', 'net_id', layout.net_servers[0],
                 layout.network),
                ('attach-port+detach', 'port_id', layout.port_servers[0],
                 layout.free_ports[0]))]
        requests += [
            db_counts.Request('show', 'GET', show_path, None, 200, None),
            db_counts.Request('list-1', 'GET', '%s%s/os-interface' % (
                prefix, layout.show_server), None, 200, None),
            db_counts.Request('list-50', 'GET', '%s%s/os-interface' % (
                prefix, layout.list_server), None, 200, None),
            db_counts.Request('error-404', 'GET', '%s%s/os-interface' % (
                prefix, layout.missing_server), None, 404, None)]
        counts = db_counts.per_request(api.config_file, url, token, requests)
        for name in ('attach-net+detach', 'attach-port+detach'):
            # A cycle's request: half an attach and half a detach.
            counts[name] = tuple((a + d) / 2 for a, d in zip(
                counts[(name, 'attach')], counts[(name, 'detach')]))
        return counts

    def _measure(self, service, path, wrk_args):
        args = self.args
        if args.warmup:
            run_wrk(service, path, wrk_args, args.concurrency, args.warmup,
                    self.directory)
            if wrk_args[0] == 'cycle':
                # The warm-up leaves ports attached mid-cycle.
                self._detach_all_from(service)
        return run_wrk(service, path, wrk_args, args.concurrency,
                       args.duration, self.directory)

    def _detach_all_from(self, service):
        self._detach_all(service, self._layout, self._token)

    def _detach_all(self, api, layout, token):
        """Detach every port of the cycle servers, in-flight ones included.

        wrk stops with requests in flight, which the workers still finish:
        pass again (after a pause) until a pass finds nothing attached.
        """
        self._layout, self._token = layout, token
        prefix = '/v2/%s' % layout.project
        for _ in range(30):
            time.sleep(0.5)
            found = 0
            for server_id in layout.net_servers + layout.port_servers:
                path = '%s/servers/%s/os-interface' % (prefix, server_id)
                status, body = api.request('GET', path, token=token)
                if status != 200:
                    continue
                for item in json.loads(body)['interfaceAttachments']:
                    found += 1
                    api.request('DELETE', '%s/%s' % (path, item['port_id']),
                                token=token)
            if not found:
                return

    def _add(self, backend, scale, workers, scenario, counted, rps, ratio,
             latencies, cpu, bad, rss):
        """A row; ``counted``: its key in the database counts, if any."""
        result = Result(backend, scale, workers, scenario, rps, ratio,
                        percentile(latencies, 0.50),
                        percentile(latencies, 0.95),
                        percentile(latencies, 0.99), cpu, bad, rss,
                        self.counts.get(counted))
        self.results.append(result)
        log('  %-20s %8.1f req/s  x%.3f  p50 %6.2f  p99 %7.2f ms' % (
            scenario, rps, ratio, result.p50, result.p99))

    def _profile(self, api, path, wrk_args, backend, scale, workers,
                 scenario):
        """py-spy record on every worker while wrk drives ``scenario``."""
        pyspy = shutil.which('py-spy') or os.path.join(
            os.path.dirname(sys.executable), 'py-spy')
        if not os.path.exists(pyspy):
            log('py-spy not found (pip install py-spy): no profile')
            return
        recorders = []
        for pid in api.workers():
            out = os.path.join(self.args.profile, '%s-%s-%d-%dw-%d.txt' % (
                scenario, backend, scale, workers, pid))
            recorders.append((out, subprocess.Popen(
                [pyspy, 'record', '--pid', str(pid), '--rate', '250',
                 '--duration', str(self.args.duration), '--format', 'raw',
                 '--nonblocking', '-o', out],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        time.sleep(1)
        run_wrk(api, path, wrk_args, self.args.concurrency,
                self.args.duration, self.directory)
        stacks = collections.Counter()
        for out, process in recorders:
            process.wait()
            if os.path.exists(out):
                stacks.update(read_raw(out))
        if stacks:
            self.profiles.append(('%s, %s, %d servers, %d workers' % (
                scenario, backend, scale, workers), stacks))


# Profiles

# Leaf-up: the first frame that matches decides where a sample's time went.
DRIVER_CALLS = ('do_execute', 'do_executemany', 'do_commit', 'do_rollback',
                'do_begin', '_execute_context', 'connect')
CATEGORIES = (
    ('gunicorn: lingering close, waiting for the client (not CPU)',
     lambda f, fn: 'gunicorn/util.py' in f and fn == 'close_graceful'),
    ('oslo.db checkin time.sleep(0) (yields the CPU)',
     lambda f, fn: 'oslo_db/' in f and fn == '_thread_yield'),
    ('DB connection open/close (SQLite NullPool: one per transaction, '
     'PRAGMAs, WAL checkpoint on close)',
     lambda f, fn: fn in ('_on_connect', '_sqlite_connect_events')
     or (fn in ('connect', 'do_close')
         and 'sqlalchemy/engine/default' in f)),
    ('DB driver: execute/commit (SQL + fsync)',
     lambda f, fn: ('sqlite3' in f or 'pymysql/' in f or 'psycopg/' in f
                    or ('sqlalchemy/' in f and fn in DRIVER_CALLS[:5]))),
    ('logging (oslo.log, access log)',
     lambda f, fn: 'logging/' in f or 'oslo_log/' in f
     or 'gunicorn/glogging' in f),
    ('oslo.policy', lambda f, fn: 'oslo_policy/' in f),
    ('JSON schema validation', lambda f, fn: 'jsonschema' in f),
    ('oslo.db (ping on checkout, exception filters)',
     lambda f, fn: 'oslo_db/' in f),
    ('SQLAlchemy Core (compile, pool, results)',
     lambda f, fn: 'sqlalchemy/' in f),
    ('netaddr/ipaddress (address allocation)',
     lambda f, fn: 'netaddr/' in f or 'ipaddress' in f),
    ('WebOb/routes/paste', lambda f, fn: 'webob/' in f or 'routes/' in f
     or 'paste/' in f),
    ('gunicorn (HTTP parse, socket I/O)', lambda f, fn: 'gunicorn/' in f),
    ('interface_attach own code', lambda f, fn: 'interface_attach/' in f),
)
# Inclusive: share of samples with this function anywhere on the stack.
INCLUSIVE = (
    ('policy authorize', 'authorize', 'interface_attach/policy.py'),
    ('body validation', 'create_body', 'interface_attach/api/'),
    ('Database.reader/writer (transactions)', 'reader|writer',
     'interface_attach/db/engine.py'),
    ('pool checkout (+ oslo.db ping)', '_checkout', 'sqlalchemy/pool'),
    ('new DB connection (pool connect)', '_create_connection',
     'sqlalchemy/pool'),
    ('pool checkin (+ oslo.db sleep(0))', '_checkin', 'sqlalchemy/pool'),
    ('commit', 'do_commit', 'sqlalchemy/'),
    ('SQL compile', '_compiler|compile', 'sqlalchemy/sql/'),
    ('address allocation (_free_address)', '_free_address',
     'interface_attach/db/networks.py'),
    ('logging calls', 'info|warning|exception|_log', 'logging/'),
    ('gunicorn access log', 'access', 'gunicorn/glogging'),
)


def read_raw(path):
    """py-spy --format raw: 'frame;frame;... count', root first."""
    stacks = collections.Counter()
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip('\n').rpartition(' ')
            if stack and count.isdigit():
                stacks[stack] += int(count)
    return stacks


def _frame(frame):
    # "Class.method (path/to/file.py:123)"
    name, _, rest = frame.partition(' (')
    return name.rsplit('.', 1)[-1], rest


def summarize(stacks):
    """([(category, share)], [(function, share)]) of worker samples."""
    total = 0
    exclusive = collections.Counter()
    inclusive = collections.Counter()
    for stack, count in stacks.items():
        frames = [_frame(f) for f in stack.split(';')]
        if not any('interface_attach/' in f or 'gunicorn/' in f
                   for _, f in frames):
            continue
        # Only the request path: not the recovery thread.
        if any('recovery' in f for _, f in frames):
            continue
        total += count
        for name, f in reversed(frames):
            category = next((label for label, match in CATEGORIES
                             if match(f, name)), None)
            if category:
                exclusive[category] += count
                break
        else:
            exclusive['other'] += count
        for label, names, where in INCLUSIVE:
            wanted = names.split('|')
            if any(name in wanted and where in f for name, f in frames):
                inclusive[label] += count
    if not total:
        return [], [], 0
    return ([(k, v / total) for k, v in exclusive.most_common()],
            [(k, v / total) for k, v in inclusive.most_common()], total)


# Report

def table(results):
    lines = [
        '| backend | servers | workers | scenario | req/s | x bare '
        '| p50 ms | p95 ms | p99 ms | CPU ms/req | bad | worker RSS MB '
        '| DB round trips, statements, transactions /req |',
        '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in results:
        lines.append('| %s | %d | %d | %s | %.0f | %.3f | %.2f | %.2f | '
                     '%.2f | %s | %s | %s | %s |' % (
                         r.backend, r.scale, r.workers,
                         r.scenario.strip().replace('  ', ''), r.rps,
                         r.ratio, r.p50, r.p95, r.p99,
                         '%.2f' % r.cpu_ms if r.cpu_ms is not None else '',
                         r.bad if r.bad is not None else '',
                         '%.0f' % r.rss_mb if r.rss_mb is not None else '',
                         ', '.join('%g' % round(v, 1) for v in r.counts)
                         if r.counts else ''))
    return lines


def targets(results, concurrency):
    """Markdown lines: each target, 2 workers, 8 clients, fewest servers."""
    if concurrency != 8 or not any(r.workers == 2 for r in results):
        return ['Targets need --workers 2 and --concurrency 8; not '
                'evaluated.']
    lines = []

    def check(label, value, ok):
        lines.append('- %s: %s, %s' % (label, value,
                                       'met' if ok else 'NOT met'))

    for backend, wanted in TARGET_RATIOS.items():
        runs = [r for r in results if r.backend == backend
                and r.workers == 2]
        if not runs:
            continue
        scale = min(r.scale for r in runs)
        runs = [r for r in runs if r.scale == scale]
        by_name = {r.scenario: r for r in runs}
        lines += ['' if lines else None,
                  'Targets (%s, %d servers, 2 workers, 8 clients):'
                  % (backend, scale), '']
        for name, ratio in wanted.items():
            r = by_name[name]
            errors = (' (%d unexpected responses: the rate counts them)'
                      % r.bad if r.bad else '')
            check('%s >= %.0f%% of the bare app' % (name, ratio * 100),
                  '%.1f%%%s' % (r.ratio * 100, errors),
                  r.ratio >= ratio and not r.bad)
        if backend != 'sqlite':
            continue
        worst = max(r.p99 for r in runs if r.scenario.strip() ==
                    'attach only')
        check('p99 attach latency < %.0f ms' % TARGET_ATTACH_P99_MS,
              '%.1f ms (worse of by network and by port)' % worst,
              worst < TARGET_ATTACH_P99_MS)
        rss = max(r.rss_mb for r in runs
                  if r.rss_mb is not None and r.scenario != 'bare app')
        check('worker RSS < %.0f MB' % TARGET_RSS_MB, '%.0f MB' % rss,
              rss < TARGET_RSS_MB)
    return [line for line in lines if line is not None]


def report(bench, args, load_before, load_after):
    lines = ['interface-attach benchmark: %d clients (closed loop, wrk), '
             '%d s per scenario, load average %s before / %s after, '
             '%d cores.' % (args.concurrency, args.duration, load_before,
                            load_after, os.cpu_count()), '']
    lines += table(bench.results)
    lines += [''] + targets(bench.results, args.concurrency)
    for title, stacks in bench.profiles:
        exclusive, inclusive, total = summarize(stacks)
        lines += ['', 'Profile of the workers (%s; %d samples; py-spy):'
                  % (title, total), '',
                  '| where the time goes (leaf-up) | share |', '|---|---:|']
        lines += ['| %s | %.1f%% |' % (k, v * 100) for k, v in exclusive]
        lines += ['', '| on the stack (inclusive) | share |', '|---|---:|']
        lines += ['| %s | %.1f%% |' % (k, v * 100) for k, v in inclusive]
    return '\n'.join(lines) + '\n'


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda value: [int(v) for v in value.split(',')]  # noqa: E731
    parser.add_argument('--workers', type=ints, default=[2],
                        help='gunicorn workers; a list runs each '
                             '(default: 2)')
    parser.add_argument('--concurrency', type=int, default=8,
                        help='closed-loop clients (default: 8)')
    parser.add_argument('--duration', type=int, default=10,
                        help='seconds per scenario (default: 10)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='seconds of warm-up per scenario (default: 1)')
    parser.add_argument('--backends', default='sqlite,postgresql,mysql',
                        help='sqlite, postgresql, mysql; unreachable '
                             'servers are skipped (default: all three)')
    parser.add_argument('--scale', type=ints, default=[100],
                        help='servers and ports in the store, e.g. '
                             '100,10000,100000 (default: 100)')
    parser.add_argument('--output', help='also write the report (markdown) '
                                         'to this file')
    parser.add_argument('--api-env', metavar='NAME=VALUE', action='append',
                        default=[],
                        help='environment of the API process only, e.g. '
                             'PYTHONPATH=DIR to try a sitecustomize patch')
    parser.add_argument('--workdir', metavar='DIR',
                        help='keep the service logs and SQLite files here '
                             '(default: a temporary directory)')
    parser.add_argument('--profile', metavar='DIR',
                        help='also record py-spy profiles of the workers '
                             'into DIR (an extra run per profiled '
                             'scenario; needs py-spy and ptrace)')
    parser.add_argument('--profile-scenarios',
                        default='attach-net+detach,show',
                        help='scenarios to profile (default: '
                             'attach-net+detach,show)')
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(',')]
    for backend in args.backends:
        if backend not in ('sqlite', 'postgresql', 'mysql'):
            parser.error('unknown backend %r' % backend)
    args.profile_scenarios = args.profile_scenarios.split(',')
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which('wrk') is None:
        sys.exit('wrk is not installed: apt-get install -y wrk '
                 '(Debian/Ubuntu), brew install wrk, or build it from '
                 'https://github.com/wg/wrk')
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    load_before = load_average()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.workdir:
            os.makedirs(args.workdir, exist_ok=True)
            directory = args.workdir
        else:
            directory = stack.enter_context(
                tempfile.TemporaryDirectory(prefix='ia-bench-'))
        bench = Bench(args, directory)
        for backend in args.backends:
            for scale in args.scale:
                with fresh_database(backend, directory) as url:
                    if url is None:
                        break
                    layout = Layout(args.concurrency)
                    seed(url, layout, scale)
                    for workers in args.workers:
                        bench.run(backend, scale, workers, url, layout)
    text = report(bench, args, load_before, load_average())
    sys.stdout.write(text)
    if args.output:
        with open(args.output, 'w') as f:
            f.write(text)
    log('done in %.0f s' % (time.monotonic() - started))


if __name__ == '__main__':
    main()
