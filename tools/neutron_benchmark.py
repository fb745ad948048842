"""The latency interface-attach adds on top of the Neutron calls it makes."""

import argparse
import collections
import dataclasses
import http.client
import http.server
import importlib.metadata
import json
import os
import re
import signal
import socket
import statistics
import sys
import threading
import time
import unittest
import uuid

import fixtures
from gunicorn import config as gunicorn_config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# The test tree's Neutron and API process, and benchmark.py's helpers.
sys.path[:0] = [REPO, HERE]

import benchmark  # noqa: E402
from interface_attach import conf as ia_conf  # noqa: E402
from interface_attach.network import neutron as neutron_driver  # noqa: E402
from tests import api_process  # noqa: E402
from tests.functional.neutron import fixtures as neutron_fixtures  # noqa: E402
from tests.functional.neutron import race  # noqa: E402

DESCRIPTION = """\
Starts a real Neutron (the functional tests' NeutronFixture: MariaDB at
127.0.0.1:3306, gunicorn, noauth) and a real interface-attach-api (gunicorn,
noauth, SQLite, [network] driver = neutron) whose Neutron endpoint is a
recording proxy in this process. For attach by port then detach, attach by
network then detach, show and list, it reports our latency, the Neutron
calls each request made and the time Neutron took to answer them, the
difference (the service's overhead), and the same Neutron calls replayed
straight to Neutron with keystoneauth1 (what talking to Neutron directly
costs). Any answer other than the expected one fails the run.
"""

UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                  r'[0-9a-f]{12}')
# Headers of one connection, not of the request: never forwarded.
HOP_BY_HOP = frozenset((
    'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
    'te', 'trailers', 'transfer-encoding', 'upgrade', 'host',
    'content-length'))
# The proxy's own Date and Server headers replace Neutron's.
NOT_COPIED = HOP_BY_HOP | {'date', 'server'}
# Neutron's gunicorn drops a connection idle for 2 s (its keepalive): the
# proxy opens a new one first rather than send a write on a dead one.
UPSTREAM_IDLE = 1.0
CALIBRATION_CALLS = 200
REPLAYED_HEADERS = ('accept', 'content-type', 'if-match')
KINDS = ('attach (port)', 'detach (unbind)', 'attach (network)',
         'detach (delete)', 'show', 'list')
SCHEDSTAT = os.path.exists('/proc/self/schedstat')
# The signals received: the run stops, cleaning up.
INTERRUPTED = []


class BenchmarkError(Exception):
    """The run cannot be trusted: an unexpected answer, or a bad replay."""


@dataclasses.dataclass
class Call:
    """One Neutron call, as the proxy forwarded it."""

    method: str
    path: str
    headers: dict       # lower-case names
    body: bytes
    status: int
    response: bytes
    started: float
    ended: float

    @property
    def seconds(self):
        return self.ended - self.started


@dataclasses.dataclass
class Request:
    """One request of a client thread to the API, with its Neutron calls."""

    thread: int
    kind: str
    warmup: bool
    started: float
    ended: float
    cpu: float = None     # API workers' CPU seconds meanwhile (1 client)
    direct: float = None  # seconds of its calls replayed straight to Neutron
    calls: list = dataclasses.field(default_factory=list)

    @property
    def seconds(self):
        return self.ended - self.started

    @property
    def neutron_seconds(self):
        return sum(call.seconds for call in self.calls)


# The recording proxy

class ProxyHandler(http.server.BaseHTTPRequestHandler):
    """Forwards each request to Neutron and records how long Neutron took.

    One handler serves one connection of the service, with one connection
    to Neutron of its own.
    """

    # keystoneauth keeps its connection to us open, as it would to Neutron,
    # so no call pays for a new connection; no Nagle delay on our writes.
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    proxy = None
    upstream = None
    last_used = 0.0

    def forward(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        headers = {name.lower(): value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        conn = self._upstream()
        started = time.perf_counter()
        try:
            conn.request(self.command, self.path, body=body or None,
                         headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.upstream = None
            conn.close()
            self.proxy.record(Call(self.command, self.path, headers, body,
                                   502, str(e).encode(), started,
                                   time.perf_counter()))
            self.send_error(502, 'Neutron: %s' % e)
            return
        ended = time.perf_counter()
        self.last_used = time.monotonic()
        self.proxy.record(Call(self.command, self.path, headers, body,
                               response.status, data, started, ended))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in NOT_COPIED:
                self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

    def _upstream(self):
        """A connection to Neutron, connected before the clock starts."""
        if (self.upstream is not None
                and time.monotonic() - self.last_used > UPSTREAM_IDLE):
            self.upstream.close()
            self.upstream = None
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(
                '127.0.0.1', self.proxy.upstream_port, timeout=120)
        if self.upstream.sock is None:
            self.upstream.connect()
            # As urllib3 does for the service when it talks to Neutron.
            self.upstream.sock.setsockopt(socket.IPPROTO_TCP,
                                          socket.TCP_NODELAY, 1)
        return self.upstream

    def log_message(self, *args):
        pass


class RecordingProxy(fixtures.Fixture):
    """An HTTP proxy on 127.0.0.1 that records every call it forwards.

    ``route(call)`` names the client a call was made for (None: unknown);
    each client takes its own calls.
    """

    def __init__(self, upstream_port, route=lambda call: None):
        super().__init__()
        self.upstream_port = upstream_port
        self.route = route

    def _setUp(self):
        self._calls = collections.defaultdict(list)
        self._lock = threading.Lock()
        handler = type('Handler', (ProxyHandler,), {'proxy': self})
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def record(self, call):
        client = self.route(call)
        with self._lock:
            self._calls[client].append(call)

    def take(self, client=None):
        """The calls of ``client`` since it last took them, oldest first."""
        with self._lock:
            calls = self._calls.pop(client, [])
        return sorted(calls, key=lambda call: call.started)


class Stub(fixtures.Fixture):
    """A fixed JSON answer of ``size`` bytes to every request, quickly.

    tools/bare_app.py's app under gunicorn's threaded worker, which keeps
    connections open as Neutron's does: what the proxy adds to a call is
    measured against it, where Neutron's own time would drown it.
    """

    def __init__(self, directory, size):
        super().__init__()
        self.directory = directory
        self.size = size

    def _setUp(self):
        self.port = benchmark.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        argv = [sys.executable, '-m', 'gunicorn', '--workers', '1',
                '--threads', '4', '--bind', '127.0.0.1:%d' % self.port,
                '--chdir', HERE, 'bare_app:make_app(%d)' % self.size]
        if 'control_socket_disable' in gunicorn_config.Config().settings:
            # Not a socket in $HOME shared with every other gunicorn.
            argv.insert(3, '--no-control-socket')
        service = benchmark.Service(argv, self.port, 1, os.path.join(
            self.directory, 'stub.out'))
        self.addCleanup(service.stop)


# The deployment

@dataclasses.dataclass
class World:
    """What one client thread works on: a server, a network and a port."""

    index: int
    project: str
    server: str
    network: str
    port: str

    def url(self, port_id=None):
        url = '/v2.1/%s/servers/%s/os-interface' % (self.project, self.server)
        return url if port_id is None else '%s/%s' % (url, port_id)


class Registry:
    """Which client thread an id belongs to, and what it is (for reports)."""

    def __init__(self):
        self._owners = {}
        self._roles = {}

    def add(self, resource_id, thread, role):
        self._owners[resource_id] = thread
        self._roles[resource_id] = role

    def owner(self, call):
        """The thread whose ids the call names (path or body), or None."""
        text = call.path + call.body.decode('utf-8', 'replace')
        for found in UUID.findall(text):
            if found in self._owners:
                return self._owners[found]
        return None

    def label(self, call):
        """'METHOD path', ids named by role: the same for every thread."""
        path = UUID.sub(lambda m: '{%s}' % self._roles.get(m.group(0), 'id'),
                        call.path)
        return '%s %s%s' % (call.method, path,
                            ' If-Match' if 'if-match' in call.headers else '')


class Deployment(fixtures.Fixture):
    """Neutron, the recording proxy, interface-attach-api, a world a client.

    Cleanup stops the API and Neutron and drops Neutron's database.
    """

    def __init__(self, args):
        super().__init__()
        self.args = args

    def _setUp(self):
        benchmark.log('starting Neutron (migrating its database first)')
        self.neutron = self.useFixture(neutron_fixtures.NeutronFixture())
        self.registry = Registry()
        # With one client every call is its own; else its ids tell.
        route = (self.registry.owner if self.args.concurrency > 1
                 else lambda call: 0)
        self.proxy = self.useFixture(RecordingProxy(self.neutron.port, route))
        self.dir = self.useFixture(fixtures.TempDir()).path
        db_url = 'sqlite:///%s' % os.path.join(self.dir,
                                               'interface-attach.sqlite')
        self.worlds = self._seed(db_url)
        self.config_file, self.port = self._configure(db_url)
        benchmark.log('starting interface-attach-api')
        self.api = self.useFixture(api_process.ApiProcess(self.config_file,
                                                          self.port))
        # Before ApiProcess's SIGKILL: orphaned workers would linger.
        self.addCleanup(self._stop_api)
        self.pids = self._wait_for_workers()

    def _seed(self, db_url):
        """Per client, in one project: a server, a network and a port."""
        project = uuid.uuid4().hex
        servers = race.create_servers(db_url, project, self.args.concurrency)
        worlds = []
        for i, server in enumerate(servers):
            network, _ = self.neutron.create_network(
                project, name='bench-%d' % i, cidr='10.%d.0.0/24' % i)
            port = self.neutron.create_port(project, network['id'])
            world = World(i, project, server, network['id'], port['id'])
            for role in ('server', 'network', 'port'):
                self.registry.add(getattr(world, role), i, role)
            worlds.append(world)
        return worlds

    def _configure(self, db_url):
        port = api_process.free_port()
        sections = api_process.dev_sections(self.dir, port, db_url)
        # Measured as deployed: no debug logging, no demo data.
        sections['DEFAULT']['debug'] = 'false'
        sections['api'].update(workers=str(self.args.workers),
                               demo_data_on_start='false')
        sections['network'] = {'driver': 'neutron'}
        sections['neutron'] = {'auth_type': 'none',
                               'endpoint_override': self.proxy.url}
        return api_process.write_config(self.dir, sections), port

    def _wait_for_workers(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = [int(pid) for pid in self.api.workers()]
            if len(pids) >= self.args.workers:
                return pids
            time.sleep(0.1)
        raise BenchmarkError('interface-attach-api did not fork %d workers '
                             'in 30 s' % self.args.workers)

    def _stop_api(self):
        if self.api.process.poll() is None:
            try:
                self.api.stop(timeout=30)
            except Exception:
                pass    # ApiProcess's own cleanup kills it.

    def neutron_client(self, endpoint):
        """A keystoneauth1 Adapter to ``endpoint``, made as the driver's."""
        conf = ia_conf.new_conf(config_files=[self.config_file])
        conf.set_override('endpoint_override', endpoint, group='neutron')
        return neutron_driver.NeutronDriver(conf, None).client


def worker_cpu(pids):
    """CPU seconds the processes ``pids`` have used, every thread counted."""
    if not SCHEDSTAT:
        return benchmark.cpu_ticks(pids) / benchmark.CLK_TCK
    # schedstat counts nanoseconds; /proc/<pid>/stat counts 10 ms ticks,
    # and one request takes a few milliseconds.
    total = 0
    for pid in pids:
        tasks = '/proc/%d/task' % pid
        try:
            names = os.listdir(tasks)
        except OSError:
            continue
        for name in names:
            try:
                with open('%s/%s/schedstat' % (tasks, name)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError):
                pass    # a thread that has just ended
    return total / 1e9


# The load

class Client:
    """One closed-loop client: its world, its requests, and their replay."""

    def __init__(self, deployment, world):
        self.deployment = deployment
        self.world = world
        self.token = 'bench:%s' % world.project
        # Only with one client is the workers' CPU meanwhile this request's.
        self.count_cpu = deployment.args.concurrency == 1
        self.replayer = Replayer(
            deployment.neutron_client(deployment.neutron.url))
        self.warmup = True
        self.requests = []
        self.unattributed = []

    def iterate(self, phase):
        """One iteration of ``phase``; then its Neutron calls, replayed.

        Right after, so that the service and the replay see the same load;
        an iteration leaves the ports as it found them, so the replay finds
        them in the state the service did.
        """
        first = len(self.requests)
        phase(self)
        done = self.requests[first:]
        self.attribute(self.deployment.proxy.take(self.world.index), done)
        for request in done:
            request.direct = self.replayer.replay(request)

    def attribute(self, calls, requests):
        """Each call to the request in flight when it was made."""
        for call in calls:
            for request in requests:
                if request.started <= call.started <= call.ended \
                        <= request.ended:
                    request.calls.append(call)
                    break
            else:
                self.unattributed.append(call)

    def call(self, kind, method, path, body=None, expect=200):
        pids = self.deployment.pids
        cpu = worker_cpu(pids) if self.count_cpu else None
        started = time.perf_counter()
        status, _, answer = api_process.request(
            self.deployment.port, method, path,
            None if body is None else json.dumps(body), token=self.token,
            timeout=60)
        ended = time.perf_counter()
        request = Request(self.world.index, kind, self.warmup, started,
                          ended)
        if cpu is not None:
            request.cpu = worker_cpu(pids) - cpu
        self.requests.append(request)
        if status != expect:
            raise BenchmarkError('%s %s answered %s, not %s: %s'
                                 % (method, path, status, expect, answer))
        return answer


def attach_port_then_detach(client):
    world = client.world
    client.call('attach (port)', 'POST', world.url(),
                {'interfaceAttachment': {'port_id': world.port}})
    client.call('detach (unbind)', 'DELETE', world.url(world.port),
                expect=202)


def attach_network_then_detach(client):
    world = client.world
    answer = client.call('attach (network)', 'POST', world.url(),
                         {'interfaceAttachment': {'net_id': world.network}})
    port_id = answer['interfaceAttachment']['port_id']
    # The detach's calls name only this new port: whose they are.
    client.deployment.registry.add(port_id, world.index, 'new port')
    client.call('detach (delete)', 'DELETE', world.url(port_id), expect=202)


def show(client):
    client.call('show', 'GET', client.world.url(client.world.port))


def list_interfaces(client):
    client.call('list', 'GET', client.world.url())


def attach_for_reads(client):
    """Attach the client's port, for show and list: not measured."""
    client.call('setup', 'POST', client.world.url(),
                {'interfaceAttachment': {'port_id': client.world.port}})
    client.deployment.proxy.take(client.world.index)


# (title, one iteration, whether the clients' ports must be attached)
PHASES = (
    ('attach by port, detach', attach_port_then_detach, False),
    ('attach by network, detach', attach_network_then_detach, False),
    ('show', show, True),
    ('list', list_interfaces, True),
)


def run_threads(target, items):
    """target(item) in a thread each; the first error they raised."""
    errors = []

    def run(item):
        try:
            target(item)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(item,), daemon=True)
               for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A BrokenBarrierError only says another thread failed first.
    errors.sort(key=lambda e: isinstance(e, threading.BrokenBarrierError))
    if errors:
        raise errors[0]


def run_phase(deployment, phase, clients, iterations, warmup):
    """(measured requests, API worker CPU seconds meanwhile) of a phase."""
    marks = {}
    barrier = threading.Barrier(len(clients), action=lambda: marks.update(
        cpu=worker_cpu(deployment.pids)))

    def run(client):
        client.warmup = True
        try:
            for _ in range(warmup):
                client.iterate(phase)
        except BaseException:
            barrier.abort()
            raise
        # Every client warm before any is measured.
        barrier.wait()
        client.warmup = False
        for _ in range(iterations):
            client.iterate(phase)

    for client in clients:
        client.requests = []
    run_threads(run, clients)
    cpu = worker_cpu(deployment.pids) - marks['cpu']
    return ([r for client in clients for r in client.requests
             if not r.warmup], cpu)


# The direct replay

def _resource(body):
    """The one resource of a Neutron answer ({"port": {...}}), or None."""
    if isinstance(body, dict) and len(body) == 1:
        (value,) = body.values()
        if isinstance(value, dict) and 'id' in value:
            return value
    return None


class Replayer:
    """Sends the Neutron calls of recorded requests straight to Neutron."""

    def __init__(self, client):
        self.client = client
        self.ids = {}        # recorded id -> the replay's (ports it created)
        self.revisions = {}  # id -> revision_number last seen

    def replay(self, request):
        """Seconds to send ``request``'s calls, one after the other."""
        started = time.perf_counter()
        for call in request.calls:
            self._send(call)
        return time.perf_counter() - started

    def _send(self, call):
        path = self._substitute(call.path)
        headers = {name: call.headers[name] for name in REPLAYED_HEADERS
                   if name in call.headers}
        if 'if-match' in headers:
            # The recorded revision is stale: the one this replay read.
            port_id = UUID.findall(path)[-1]
            if port_id not in self.revisions:
                raise BenchmarkError('replay: no revision of %s read before '
                                     '%s %s' % (port_id, call.method, path))
            headers['if-match'] = ('revision_number=%d'
                                   % self.revisions[port_id])
        body = self._substitute(call.body.decode()).encode() or None
        response = self.client.request(path, call.method, data=body,
                                       headers=headers, raise_exc=False)
        if response.status_code != call.status:
            raise BenchmarkError('replay of %s %s answered %s, the service '
                                 'had %s: %s' % (
                                     call.method, path, response.status_code,
                                     call.status, response.text[:500]))
        self._learn(call, response)

    def _learn(self, call, response):
        if not response.content:
            return
        replayed = _resource(response.json())
        if replayed is None:
            return
        if call.method == 'POST':
            recorded = _resource(json.loads(call.response))
            self.ids[recorded['id']] = replayed['id']
        if 'revision_number' in replayed:
            self.revisions[replayed['id']] = replayed['revision_number']

    def _substitute(self, text):
        return UUID.sub(lambda m: self.ids.get(m.group(0), m.group(0)), text)


def proxy_cost(deployment):
    """([seconds], [seconds]) of a port-sized GET: direct, through a proxy.

    Both with the driver's keystoneauth1 client, to a stub rather than to
    Neutron, whose own time varies by more than the proxy adds.
    """
    port = deployment.neutron.call('GET', '/v2.0/ports/%s'
                                   % deployment.worlds[0].port)
    size = len(json.dumps(port))
    with Stub(deployment.dir, size) as stub, \
            RecordingProxy(stub.port) as proxy:
        direct = deployment.neutron_client(stub.url)
        proxied = deployment.neutron_client(proxy.url)
        times = {direct: [], proxied: []}
        warmup = 20
        for i in range(warmup + CALIBRATION_CALLS):
            # Interleaved: the machine's load moves both alike.
            for client in (direct, proxied):
                seconds = _timed_get(client, '/v2.0/ports/stub')
                if i >= warmup:
                    times[client].append(seconds)
            proxy.take()
    return times[direct], times[proxied]


def _timed_get(client, path):
    started = time.perf_counter()
    response = client.request(path, 'GET', raise_exc=False)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchmarkError('GET %s: %s' % (path, response.status_code))
    return seconds


def measure(deployment, args):
    """Everything the report needs, as a dict."""
    benchmark.log('measuring what the proxy adds to a call')
    direct, proxied = proxy_cost(deployment)
    clients = [Client(deployment, world) for world in deployment.worlds]
    iterations = max(1, args.requests // args.concurrency)
    requests, phase_cpu = [], {}
    attached = False
    for title, phase, needs_attached in PHASES:
        if needs_attached and not attached:
            run_threads(attach_for_reads, clients)
            attached = True
        benchmark.log('%s: %d + %d warm-up iterations x %d client(s), each '
                      'replayed direct' % (title, iterations, args.warmup,
                                           len(clients)))
        measured, cpu = run_phase(deployment, phase, clients, iterations,
                                  args.warmup)
        for kind in {r.kind for r in measured}:
            phase_cpu[kind] = cpu / len(measured)
        requests += measured
    unattributed = deployment.proxy.take() + [
        call for client in clients for call in client.unattributed]
    return dict(requests=requests, phase_cpu=phase_cpu,
                unattributed=unattributed, direct=direct, proxied=proxied,
                load_after=benchmark.load_average())


# The report

def ms(values, p):
    return '%.2f' % (benchmark.percentile(values, p) * 1000)


def rst_table(header, rows):
    widths = [max(len(row[i]) for row in [header] + rows)
              for i in range(len(header))]
    border = '  '.join('=' * width for width in widths)

    def line(cells):
        return '  '.join(cell.ljust(width)
                         for cell, width in zip(cells, widths)).rstrip()

    return [border, line(header), border] + [line(r) for r in rows] + [
        border]


def proxy_seconds(results):
    """What the proxy adds to one call (p50, through it - direct)."""
    return max(0.0, statistics.median(results['proxied'])
               - statistics.median(results['direct']))


def overhead_rows(results):
    added = proxy_seconds(results)
    rows = []
    for kind in KINDS:
        measured = [r for r in results['requests'] if r.kind == kind]
        if not measured:
            continue
        latency = [r.seconds for r in measured]
        neutron = [r.neutron_seconds for r in measured]
        overhead = [r.seconds - r.neutron_seconds - len(r.calls) * added
                    for r in measured]
        calls = [len(r.calls) for r in measured]
        direct = [r.direct for r in measured]
        if all(r.cpu is not None for r in measured):
            cpu = statistics.fmean(r.cpu for r in measured)
        else:
            cpu = results['phase_cpu'][kind]
        rows.append([
            kind, str(len(measured)),
            '%g' % round(statistics.fmean(calls), 2),
            ms(latency, .50), ms(latency, .95), ms(latency, .99),
            ms(neutron, .50), ms(neutron, .95),
            ms(overhead, .50), ms(overhead, .95),
            '%.2f' % (statistics.fmean(overhead) * 1000),
            ms(direct, .50), ms(direct, .95), '%.2f' % (cpu * 1000)])
    return rows


def call_rows(results, registry):
    """A row per Neutron call of each operation, per distinct sequence."""
    rows = []
    for kind in KINDS:
        measured = [r for r in results['requests'] if r.kind == kind]
        sequences = collections.defaultdict(list)
        for request in measured:
            sequences[tuple((registry.label(call), call.status)
                            for call in request.calls)].append(request)
        ordered = sorted(sequences.items(), key=lambda item: -len(item[1]))
        for sequence, group in ordered:
            name = kind if len(sequences) == 1 else '%s (%d of %d)' % (
                kind, len(group), len(measured))
            if not sequence:
                rows.append([name, '-', '(none)', '', '', ''])
            for i, (label, status) in enumerate(sequence):
                seconds = [request.calls[i].seconds for request in group]
                rows.append([name, str(i + 1), label, str(status),
                             ms(seconds, .50), ms(seconds, .95)])
    return rows


def report(args, deployment, results, load_before):
    added = proxy_seconds(results)
    lines = [
        'interface-attach over Neutron: %d requests per operation measured '
        'after %d warm-up iterations per client, %d client(s) in a closed '
        'loop, %d API workers (gunicorn sync, SQLite, [network] driver = '
        'neutron); Neutron %s (gunicorn, 1 worker x 16 threads, ML2, '
        'MariaDB); load average %s before, %s after; %d cores.' % (
            len(results['requests']) // len(KINDS), args.warmup,
            args.concurrency, args.workers,
            importlib.metadata.version('neutron'), load_before,
            results['load_after'], os.cpu_count()),
        '',
        'The service reaches Neutron through a recording proxy in the '
        'benchmark process, which adds %.2f ms to each call: with the '
        'driver\'s keystoneauth1 client, a GET answered by a stub server '
        '(a port-sized body) takes %s ms p50 (p95 %s) direct, %s ms (p95 %s) '
        'through the proxy. The overhead columns subtract it. Times in ms.'
        % (added * 1000, ms(results['direct'], .50),
           ms(results['direct'], .95), ms(results['proxied'], .50),
           ms(results['proxied'], .95)),
        '']
    lines += rst_table(
        ['operation', 'n', 'Neutron calls', 'p50', 'p95', 'p99',
         'Neutron p50', 'Neutron p95', 'overhead p50', 'overhead p95',
         'overhead mean', 'direct p50', 'direct p95', 'CPU/req'],
        overhead_rows(results))
    lines += [
        '',
        '- p50, p95, p99: latency at the client (http.client, a new '
        'connection per request: the sync workers close each one).',
        '- Neutron: the time Neutron took to answer the request\'s calls, '
        'added up (at the proxy, from sending the call to reading the whole '
        'answer).',
        '- overhead: latency - Neutron - calls x %.2f ms (the proxy, which a '
        'deployment does not have).' % (added * 1000),
        '- direct: the same calls sent straight to Neutron with keystoneauth1 '
        '(the driver\'s client), one after the other, same concurrency: what '
        'a caller talking to Neutron itself would wait.',
        '- CPU/req: CPU ms of the interface-attach-api workers per request '
        '(%s).' % ('each request\'s own' if args.concurrency == 1 else
                   'the phase\'s, shared out: attach and detach alike'),
        '',
        'Neutron calls per request (p50, p95: Neutron\'s time for that '
        'call):',
        '']
    lines += rst_table(['operation', '#', 'call', 'status', 'p50', 'p95'],
                       call_rows(results, deployment.registry))
    lines += unattributed_lines(results, deployment.registry)
    return '\n'.join(lines) + '\n'


def unattributed_lines(results, registry):
    """The calls no request could be given, if any, and when they came."""
    if not results['unattributed']:
        return []
    counts = collections.Counter()
    for call in results['unattributed']:
        measured = any(r.started <= call.started <= call.ended <= r.ended
                       for r in results['requests'])
        counts[(registry.label(call), call.status,
                'while measuring' if measured else 'in warm-up')] += 1
    return ['', 'Neutron calls given to no request (not counted above): '
            '%s.' % '; '.join(
                '%s %s, %d %s' % (label, status, count, when)
                for (label, status, when), count in sorted(counts.items()))]


# Main

def _cause(error):
    """The error a fixture's setUp raised, out of MultipleExceptions."""
    while isinstance(error, fixtures.MultipleExceptions):
        error = error.args[0][1]
    return error


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.strip() + '\n\n' + DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--requests', type=int, default=200,
                        help='measured requests per operation (default: '
                             '200)')
    parser.add_argument('--warmup', type=int, default=20,
                        help='iterations per client before each operation '
                             'is measured (default: 20)')
    parser.add_argument('--concurrency', type=int, default=1,
                        help='closed-loop clients, each with a server, '
                             'network and port of its own; with one, '
                             'Neutron calls and CPU are attributed by time '
                             '(default: 1)')
    parser.add_argument('--workers', type=int, default=2,
                        help='interface-attach-api workers (default: 2)')
    parser.add_argument('--output', help='also write the report '
                                         '(reStructuredText) to this file')
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 200:
        parser.error('--concurrency: 1 to 200')
    if args.requests < 1 or args.warmup < 0 or args.workers < 1:
        parser.error('--requests and --workers at least 1, --warmup 0')
    return args


def _interrupt(signum, frame):
    INTERRUPTED.append(signum)
    raise KeyboardInterrupt()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # SIGTERM as Ctrl-C: the cleanups stop the servers, drop the database.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    load_before = benchmark.load_average()
    started = time.monotonic()
    try:
        with Deployment(args) as deployment:
            results = measure(deployment, args)
            text = report(args, deployment, results, load_before)
    except BaseException as e:
        # Interrupted in a nested fixture's setUp, fixtures reports a
        # TypeError instead; the cleanups have run all the same.
        if INTERRUPTED:
            sys.exit('interrupted (signal %d): Neutron and the API stopped, '
                     'the database dropped' % INTERRUPTED[0])
        cause = _cause(e)
        if isinstance(cause, unittest.SkipTest):
            sys.exit('cannot run: %s' % cause)
        if isinstance(cause, BenchmarkError):
            sys.exit('FAILED: %s' % cause)
        raise
    sys.stdout.write(text)
    if args.output:
        with open(args.output, 'w') as f:
            f.write(text)
    benchmark.log('done in %.0f s' % (time.monotonic() - started))


if __name__ == '__main__':
    main()
