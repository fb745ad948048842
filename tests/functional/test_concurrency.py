"""Many workers, many processes, one database: the invariants hold.

Three interface-attach-api processes of two workers each share one
MariaDB (and, again, one PostgreSQL) database. Client processes, each
with several threads, fire about two thousand requests in races where
there must be exactly one winner, and in one where everybody must win;
then 32 clients attach by network, list and detach on one shared subnet
for a while (the steady run). Every answer must be one the contract
allows, and the consistency checker must find nothing afterwards.

``RaceScenarios`` holds the scenarios, for any list of API endpoints: the
Galera tier (tests/functional/galera) runs them through three nodes.
"""

import collections
from concurrent import futures
import itertools
import json
import os
import random
import threading
import time

import fixtures
from oslotest import base
import sqlalchemy as sa
from testtools import content

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


# Seconds of the steady run: $INTERFACE_ATTACH_STEADY_SECONDS, or the
# test class's own.
STEADY_SECONDS = os.environ.get('INTERFACE_ATTACH_STEADY_SECONDS')


def _exchange(port, method, path, body=None):
    """(status, JSON answer); status 0 and the error if none came."""
    try:
        status, _, answer = api_process.request(
            port, method, path, json.dumps(body) if body else None,
            token=MEMBER, timeout=60)
    except OSError as e:
        return 0, repr(e)
    return status, answer


def _message(status, answer):
    return (next(iter(answer.values())).get('message')
            if status >= 400 and isinstance(answer, dict) and answer
            else None)


def _send(job):
    status, answer = _exchange(*job)
    return status, _message(status, answer)


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


def _cycle(client):
    """Attach by network, list, detach, until the deadline: the answers.

    Each client has its own server and API: duplicates are off, so the
    one port it attaches must be detached before the next attach, and its
    list must show that port (its writes are read where they were made).
    """
    port, server_id, net_id, seconds = client
    path = '/v2.1/servers/%s/os-interface' % server_id
    deadline = time.monotonic() + seconds
    answers = []
    while time.monotonic() < deadline:
        status, answer = _exchange(port, 'POST', path, {
            'interfaceAttachment': {'net_id': net_id}})
        answers.append(('POST', status, _message(status, answer)))
        if status != 200:
            continue
        port_id = answer['interfaceAttachment']['port_id']
        status, answer = _exchange(port, 'GET', path)
        answers.append(('GET', status, status == 200 and [
            a['port_id'] for a in answer['interfaceAttachments']] == [
                port_id]))
        status, answer = _exchange(port, 'DELETE', '%s/%s' % (path, port_id))
        answers.append(('DELETE', status, _message(status, answer)))
    return answers


def _cycle_all(clients):
    with futures.ThreadPoolExecutor(len(clients)) as pool:
        return [a for answers in pool.map(_cycle, clients) for a in answers]


def steady(clients):
    """Run ``clients`` (see _cycle) from several processes at once."""
    chunks = [clients[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    with futures.ProcessPoolExecutor(CLIENT_PROCESSES) as pool:
        return [a for answers in pool.map(_cycle_all, chunks)
                for a in answers]


def conflicts(database):
    """How many transactions the server aborted as conflicts, so far.

    InnoDB's deadlocks (server-wide, other databases' included) and, on
    Galera, this node's certification failures and brute-force aborts;
    PostgreSQL's deadlocks in this database.
    """
    with database.reader() as conn:
        if conn.dialect.name == 'postgresql':
            return conn.execute(sa.text(
                'SELECT deadlocks FROM pg_stat_database '
                'WHERE datname = current_database()')).scalar()
        return sum(int(value) for _, value in conn.execute(sa.text(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_deadlocks', "
            "'wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")))


class RaceScenarios:
    """The races and the steady run, through the APIs on ``self.ports``.

    A test class sets ``ports``, ``database`` (where the scene is made),
    ``servers``, ``networks`` and ``api`` (a cycle over ``ports``) in its
    setUp. ``settle`` runs once the scene is made, before any request;
    ``assertConsistent`` after the requests; ``conflict_count`` sums
    ``conflicts`` where the writes went.
    """

    steady_seconds = 10

    def settle(self):
        pass

    def conflict_count(self):
        return conflicts(self.database)

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

        self.settle()
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
        self.settle()

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

    def test_steady_contention(self):
        """32 clients attach by network, list and detach on one subnet.

        No 5xx at all: a conflict is retried until it lands, and address
        picks on the shared subnet are spread (see [network]
        address_window). The attach rate and the conflicts the database
        aborted are reported in the test's "steady" detail.
        """
        seconds = float(STEADY_SECONDS or self.steady_seconds)
        net = self.make_network('10.0.0.0/16')
        vms = self.make_servers(CLIENT_PROCESSES * THREADS)
        self.settle()
        before = self.conflict_count()
        started = time.monotonic()
        answers = steady([(self.ports[i % len(self.ports)], vm, net,
                           seconds) for i, vm in enumerate(vms)])
        took = time.monotonic() - started
        aborted = self.conflict_count() - before
        counts = self.assertAllowed(answers, {
            ('POST', 200, None), ('GET', 200, True), ('DELETE', 202, None)})
        attaches = counts[('POST', 200, None)]
        self.addDetail('steady', content.text_content(
            '%d clients, %.1f s: %d attaches (%.1f/s), %d lists, %d '
            'detaches, %d conflicts aborted by the database' % (
                len(vms), took, attaches, attaches / took,
                counts[('GET', 200, True)], counts[('DELETE', 202, None)],
                aborted)))
        self.assertGreater(attaches, len(vms))
        self.assertConsistent()


class ConcurrencyTest(RaceScenarios, base.BaseTestCase):

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


class ConcurrencyPostgreSQLTest(ConcurrencyTest):
    backend = 'postgresql'
