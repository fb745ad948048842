"""Many workers, many processes, one database: the invariants hold.

Three interface-attach-api processes of two workers each share one
MariaDB (and, again, one PostgreSQL) database. Client processes, each
with several threads, fire about two thousand requests in races where
there must be exactly one winner, and in one where everybody must win.
Every answer must be one the contract allows, and the consistency checker
must find nothing afterwards.
"""

import collections
from concurrent import futures
import itertools
import json
import random
import threading

import fixtures
from oslotest import base

from interface_attach import checker
from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import networks
from interface_attach.db import servers
from tests import api_process
from tests import databases

PROJECT = 'e4ee5a9bdf934e35b62c8b995152feee'
MEMBER = 'alice:%s' % PROJECT
API_PROCESSES = 3
CLIENT_PROCESSES = 4
THREADS = 8


def _send(job):
    port, method, path, body = job
    try:
        status, _, answer = api_process.request(
            port, method, path, json.dumps(body) if body else None,
            token=MEMBER, timeout=60)
    except OSError as e:
        return (0, repr(e))
    message = (next(iter(answer.values())).get('message')
               if status >= 400 and answer else None)
    return status, message


def _send_all(jobs):
    with futures.ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(_send, jobs))


def fire(jobs):
    """Send ``jobs`` from several processes at once; answers in order."""
    chunks = [jobs[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    with futures.ProcessPoolExecutor(CLIENT_PROCESSES) as pool:
        answers = list(pool.map(_send_all, chunks))
    result = [None] * len(jobs)
    for i, chunk in enumerate(answers):
        result[i::CLIENT_PROCESSES] = chunk
    return result


class ConcurrencyTest(base.BaseTestCase):

    backend = 'mysql'

    def setUp(self):
        super().setUp()
        url = databases.database_url(self.backend)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.ports = []
        for i in range(API_PROCESSES):
            port = api_process.free_port()
            sections = api_process.dev_sections(self.dir, port, url)
            sections['DEFAULT']['debug'] = 'false'
            sections['api']['demo_data_on_start'] = 'false'
            sections['api']['db_sync_on_start'] = 'false'
            config = api_process.write_config(
                self.useFixture(fixtures.TempDir()).path, sections)
            if i == 0:
                self.conf = ia_conf.new_conf(config_files=[config])
                self.database = engine.Database(self.conf.database)
                self.addCleanup(self.database.dispose)
                migration.db_sync(self.database)
                databases.empty(self.database)
            self.useFixture(api_process.ApiProcess(config, port))
            self.ports.append(port)
        self.servers = servers.ServerStore(self.database)
        self.networks = networks.NetworkStore(self.database)
        self.api = itertools.cycle(self.ports)

    def url(self, server_id, port_id=None):
        path = '/v2.1/servers/%s/os-interface' % server_id
        return path + ('/%s' % port_id if port_id else '')

    def job(self, method, path, body=None):
        return (next(self.api), method, path, body)

    def make_servers(self, count):
        return [self.servers.create(PROJECT, 'vm%d' % i).id
                for i in range(count)]

    def make_network(self, cidr='10.0.0.0/22'):
        net = self.networks.create_network(PROJECT, 'net')
        self.networks.create_subnet(net.id, cidr)
        return net.id

    def assertAllowed(self, answers, allowed):
        counts = collections.Counter(answers)
        unexpected = {a: n for a, n in counts.items() if a not in allowed}
        self.assertEqual({}, unexpected)
        return counts

    def assertConsistent(self):
        self.assertEqual([], checker.check(self.database, False, 300))

    def test_races(self):
        vms = self.make_servers(30)
        jobs, checks = [], []

        # 1. One free port, thirty servers: one winner per port. (Each
        # port on a network of its own: duplicates are off.)
        for i in range(8):
            port = self.networks.create_port(
                PROJECT, self.make_network('10.200.%d.0/24' % i))[0].id
            start = len(jobs)
            jobs += [self.job('POST', self.url(vm), {'interfaceAttachment': {
                'port_id': port}}) for vm in vms]
            checks.append(('port', port, start, len(jobs)))

        # 2. One fixed IP, thirty servers: one winner per address.
        for i in range(8):
            other = self.make_network('10.%d.0.0/24' % (10 + i))
            start = len(jobs)
            jobs += [self.job('POST', self.url(vm), {'interfaceAttachment': {
                'net_id': other, 'fixed_ips': [
                    {'ip_address': '10.%d.0.77' % (10 + i)}]}})
                for vm in vms]
            checks.append(('ip', other, start, len(jobs)))

        # 3. One network, one server, many attaches: duplicates are off.
        net = self.make_network()
        for vm in vms[:10]:
            start = len(jobs)
            jobs += [self.job('POST', self.url(vm), {'interfaceAttachment': {
                'net_id': net}}) for _ in range(20)]
            checks.append(('network', vm, start, len(jobs)))

        # 4. Many different ports (on different networks) to one server:
        # every one must succeed.
        target = self.make_servers(1)[0]
        start = len(jobs)
        for i in range(60):
            other = self.make_network('10.100.%d.0/24' % i)
            port = self.networks.create_port(PROJECT, other)[0].id
            jobs.append(self.job('POST', self.url(target), {
                'interfaceAttachment': {'port_id': port}}))
        checks.append(('all', target, start, len(jobs)))

        order = list(range(len(jobs)))
        random.shuffle(order)
        shuffled = fire([jobs[i] for i in order])
        answers = [None] * len(jobs)
        for position, i in enumerate(order):
            answers[i] = shuffled[position]

        for kind, what, start, end in checks:
            batch = answers[start:end]
            if kind == 'port':
                counts = self.assertAllowed(batch, {
                    (200, None),
                    (409, 'Port %s is still in use.' % what)})
                self.assertEqual(1, counts[(200, None)], what)
            elif kind == 'ip':
                counts = self.assertAllowed(batch, {(200, None), (
                    409, 'Fixed IP %s is already in use.'
                    % jobs[start][3]['interfaceAttachment']['fixed_ips'][0][
                        'ip_address'])})
                self.assertEqual(1, counts[(200, None)], what)
            elif kind == 'network':
                counts = self.assertAllowed(batch, {(200, None), (
                    400, 'Network %s is duplicated: server %s is already '
                    'associated with a port on it.' % (net, what))})
                self.assertEqual(1, counts[(200, None)], what)
            else:
                self.assertEqual([(200, None)] * (end - start), batch)
        self.assertConsistent()

    def test_detaches_and_locks_racing_attaches(self):
        net = self.make_network()
        vms = self.make_servers(10)
        ports = [self.networks.create_port(PROJECT, net)[0].id
                 for _ in range(20)]
        jobs = []
        for port in ports:
            for _ in range(6):
                for vm in random.sample(vms, 3):
                    jobs.append(self.job('POST', self.url(vm), {
                        'interfaceAttachment': {'port_id': port}}))
                    jobs.append(self.job('DELETE', self.url(vm, port)))
        random.shuffle(jobs)

        stop = threading.Event()

        def toggle_locks():
            while not stop.is_set():
                vm = random.choice(vms)
                self.servers.set_locked(vm, True)
                self.servers.set_locked(vm, False)
        locker = threading.Thread(target=toggle_locks)
        locker.start()
        try:
            answers = fire(jobs)
        finally:
            stop.set()
            locker.join()

        # An attach wins, finds the port in use or the server locked, or
        # (duplicates off) finds the server on the network already; a
        # detach detaches, finds nothing attached, or a lock.
        allowed = {'POST': {200, 400, 409}, 'DELETE': {202, 404, 409}}
        for (_, method, path, _), (status, message) in zip(jobs, answers):
            self.assertIn(status, allowed[method], (method, path, message))
            if status == 409 and 'locked' in message:
                self.assertEqual('Instance %s is locked'
                                 % path.split('/')[3], message)
        self.assertConsistent()


class ConcurrencyPostgreSQLTest(ConcurrencyTest):
    backend = 'postgresql'
