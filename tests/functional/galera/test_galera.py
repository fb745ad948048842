"""Many writers: three interface-attach-api processes on three Galera nodes.

One cluster (tests.functional.galera.cluster) serves the class: each API
process (two workers) writes through its own node, and the races and the
steady run of test_concurrency spread their requests over the three. A
conflict between nodes is a certification failure at COMMIT, retried as
a deadlock; none may reach a client as a 5xx. Afterwards
``interface-attach-manage check`` is clean on every node and every node
holds the same rows (CHECKSUM TABLE).
"""

import collections
import itertools
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import sqlalchemy as sa
import testtools
from testtools import content

from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import networks
from interface_attach.db import servers
from interface_attach.db import tables
from tests import api_process
from tests import databases
from tests import fixtures as ia_fixtures
from tests.functional.galera import cluster as galera
from tests.functional import test_commit_outcome
from tests.functional import test_concurrency
from tests import tcp_proxy


class GaleraTest(test_concurrency.RaceScenarios, testtools.TestCase):

    steady_seconds = 30

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        galera.skip_unless_available()
        cls.cluster = galera.GaleraCluster()
        cls.cluster.setUp()
        cls.addClassCleanup(cls.cluster.cleanUp)
        cls.dir = tempfile.mkdtemp(prefix='ia-galera-api-')
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.configs, cls.apis = [], []
        for node in cls.cluster.nodes:
            port = api_process.free_port()
            sections = api_process.dev_sections(cls.dir, port, node.url)
            sections['DEFAULT']['debug'] = 'false'
            sections['DEFAULT']['log_file'] = '%s/api-%d.log' % (
                cls.dir, node.index)
            sections['api']['demo_data_on_start'] = 'false'
            sections['api']['db_sync_on_start'] = 'false'
            # A thread for each of the load's four clients of this API, so
            # that a request's time is its own, not also that of one it
            # queued behind (see test_a_node_frozen_under_load).
            sections['api']['threads'] = '2'
            # Reads wait for what other nodes committed (see README).
            sections['database']['mysql_wsrep_sync_wait'] = '1'
            directory = tempfile.mkdtemp(dir=cls.dir)
            cls.configs.append(api_process.write_config(directory, sections))
            if node.index == 0:
                cls.conf = ia_conf.new_conf(config_files=[cls.configs[0]])
                cls.database = engine.Database(cls.conf.database)
                cls.addClassCleanup(cls.database.dispose)
                migration.db_sync(cls.database)
            api = api_process.ApiProcess(cls.configs[-1], port)
            api.setUp()
            cls.addClassCleanup(api.cleanUp)
            cls.apis.append(api)
        cls.ports = [api.port for api in cls.apis]

    def setUp(self):
        super().setUp()
        self.addOnException(self._api_logs)
        for node in self.cluster.nodes:
            node.wait_synced()
        databases.empty(self.database)
        self.servers = servers.ServerStore(self.database)
        self.networks = networks.NetworkStore(self.database)
        self.api = itertools.cycle(self.ports)

    def _api_logs(self, exc_info):
        for i, api in enumerate(self.apis):
            for name, path in (('api-%d' % i, api.output), (
                    'api-%d.log' % i, '%s/api-%d.log' % (self.dir, i))):
                with open(path, errors='replace') as f:
                    text = f.read()
                self.addDetail(name, content.text_content(text[-6000:]))
            # Why a request failed, from anywhere in the class's log.
            failures = [line for line in text.splitlines()
                        if ' WARNING ' in line or ' ERROR ' in line]
            self.addDetail('api-%d.log warnings' % i, content.text_content(
                '\n'.join(failures[-60:])))
        for node in self.cluster.nodes:
            self.addDetail('node%d' % node.index, content.text_content(
                node.process.log_tail(3000) if node.process else ''))

    def settle(self):
        # The scene was made through the first node: the others apply it
        # a moment later.
        self.cluster.wait_applied()

    def conflict_count(self):
        return sum(test_concurrency.conflicts(database)
                   for database in self.node_databases())

    def node_databases(self):
        result = [self.database]
        for config in self.configs[1:]:
            database = engine.Database(
                ia_conf.new_conf(config_files=[config]).database)
            self.addCleanup(database.dispose)
            result.append(database)
        return result

    def assertConsistent(self):
        self.cluster.wait_applied()
        for config in self.configs:
            result = subprocess.run(
                [sys.executable, '-m', 'interface_attach.cmd.manage',
                 '--config-file', config, 'check'],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(0, result.returncode,
                             result.stdout + result.stderr)
        checksums = self.cluster.checksums(
            [table.name for table in tables.metadata.sorted_tables])
        self.assertEqual(1, len({tuple(map(tuple, rows))
                                 for rows in checksums.values()}),
                         checksums)

    def test_reads_see_writes_made_through_another_node(self):
        vms = self.make_servers(3)
        net = self.make_network()
        self.settle()
        misses = []
        for round in range(20):
            for i, vm in enumerate(vms):
                writer, *readers = self.ports[i:] + self.ports[:i]
                path = self.url(vm)
                status, answer = test_concurrency._exchange(
                    writer, 'POST', path,
                    {'interfaceAttachment': {'net_id': net}})
                self.assertEqual(200, status, answer)
                port_id = answer['interfaceAttachment']['port_id']
                for reader in readers:
                    status, answer = test_concurrency._exchange(
                        reader, 'GET', path)
                    if [a['port_id'] for a in answer[
                            'interfaceAttachments']] != [port_id]:
                        misses.append((round, vm, reader))
                status, answer = test_concurrency._exchange(
                    readers[-1], 'DELETE', self.url(vm, port_id))
                self.assertEqual(202, status, answer)
        self.assertEqual([], misses)
        self.addDetail('read-cost', content.text_content(
            self._read_cost()))

    def _read_cost(self):
        """Milliseconds of a read transaction without and with the wait.

        Medians of interleaved rounds of 100 reads, through node1.
        """
        vm = self.make_servers(1)[0]
        stores = []
        for wait in (None, 1):
            conf = ia_conf.new_conf(config_files=[self.configs[1]])
            conf.set_override('mysql_wsrep_sync_wait', wait,
                              group='database')
            database = engine.Database(conf.database)
            self.addCleanup(database.dispose)
            stores.append(servers.ServerStore(database))
            stores[-1].get(vm)
            with database.reader() as conn:
                self.assertEqual(wait or 0, conn.exec_driver_sql(
                    'SELECT @@session.wsrep_sync_wait').scalar())
        rounds = [[], []]
        for _ in range(7):
            for store, times in zip(stores, rounds):
                started = time.monotonic()
                for _ in range(100):
                    store.get(vm)
                times.append((time.monotonic() - started) * 10)
        return ('a server read through node1: %.2f ms without '
                'wsrep_sync_wait, %.2f ms with wsrep_sync_wait = 1' % tuple(
                    statistics.median(times) for times in rounds))

    def test_a_node_killed_under_load_then_restarted(self):
        load = self.start_load()
        time.sleep(3)
        node = self.cluster.nodes[2]
        killed = time.monotonic()
        node.kill()
        time.sleep(8)
        restarted = time.monotonic()
        node.restart()
        node.wait_synced()
        synced = time.monotonic()
        time.sleep(5)
        records = load.stop()
        self.addDetail('fault', content.text_content(
            'killed node2 for %.1f s; restarted and Synced in %.1f s; %s'
            % (restarted - killed, synced - restarted, summary(records))))
        # An incremental transfer, not a full copy.
        self.assertIn('IST received: ', node.log_since_restart())

        mine = [r for r in records if r.api == 2]
        during = [r for r in mine if killed + 1 < r.started < restarted]
        self.assertTrue(during)
        for r in during:
            self.assertEqual((503, '5'), (r.status, r.retry_after), r)
        for r in mine:
            if r.started > killed:
                self.assertLess(r.took, 5, r)
        self.assertFaultAnswers(mine)
        self.assertServedAgain(mine, synced)
        self.assertOthersCarriedOn(records, 2)
        self.assertConsistent()

    def test_a_node_frozen_under_load(self):
        load = self.start_load()
        time.sleep(3)
        node = self.cluster.nodes[1]
        frozen = time.monotonic()
        node.kill(signal.SIGSTOP)
        time.sleep(20)
        node.kill(signal.SIGCONT)
        thawed = time.monotonic()
        # Resumed, it says Synced for a few seconds before it notices that
        # the cluster went on without it, and rejoins.
        time.sleep(8)
        node.wait_synced()
        synced = time.monotonic()
        time.sleep(5)
        records = load.stop()
        self.addDetail('fault', content.text_content(
            'froze node1 for %.1f s; Synced %.1f s after SIGCONT; %s' % (
                thawed - frozen, synced - thawed, summary(records))))

        mine = [r for r in records if r.api == 1]
        # statement_timeout (10 s) for the statement in flight when the
        # node froze (it is not run again: it would wait as long again),
        # then connect_timeout (3 s) for a new connection, to look for the
        # outcome if that statement was a COMMIT: 13 s at most, and a
        # margin for a busy host.
        for r in records:
            self.assertLess(r.took, 22, r)
        self.assertIn(503, [r.status for r in mine
                            if frozen + 1 < r.started < thawed])
        for r in mine:
            if r.status == 503:
                self.assertEqual('5', r.retry_after, r)
        self.assertFaultAnswers(mine)
        self.assertServedAgain(mine, synced)
        self.assertOthersCarriedOn(records, 1)
        self.assertConsistent()

    def test_a_node_killed_at_commit(self):
        """The answer to a write whose node died at its COMMIT is the truth.

        The service reaches node2 through a proxy that fails over to
        node0, as a load balancer would. Node2 is killed once it has
        committed an attach, before its answer is sent: the service finds
        the attach on node0 and answers 200. Killed before the COMMIT
        reaches it, the attach did not land; node0 cannot say whether a
        dead node's session had committed, so the answer is the 503 that
        says the outcome is unknown, with nothing kept.
        """
        node = self.cluster.nodes[2]
        proxy = self.useFixture(tcp_proxy.TcpProxy(
            '127.0.0.1', node.port,
            fallbacks=[('127.0.0.1', self.cluster.nodes[0].port)]))
        service = self.useFixture(ia_fixtures.ServiceFixture(
            connection=sa.engine.make_url(node.url).set(
                port=proxy.port).render_as_string(hide_password=False),
            options={'database': {'mysql_wsrep_sync_wait': '1',
                                  'outcome_timeout': '3'}}))
        vms = self.make_servers(2)
        net = self.make_network('10.0.0.0/24')
        self.settle()

        for vm, how, expected in (
                (vms[0], proxy.UNANSWERED, (200, None)),
                (vms[1], proxy.UNSENT, (503, test_commit_outcome.UNKNOWN))):
            proxy.lose_commit(how, then=node.kill)
            status, answer = self.attach_through(service.app, vm, net)
            self.assertTrue(proxy.commit_lost())
            self.assertEqual(expected, (status, test_concurrency._message(
                status, answer)))
            bound = [port.id for port, _ in
                     self.networks.list_ports_with_ips(device_id=vm)]
            if status == 200:
                self.assertEqual(
                    [answer['interfaceAttachment']['port_id']], bound)
            else:
                self.assertEqual([], bound)
            node.restart()
            node.wait_synced()
        self.assertConsistent()

    def attach_through(self, app, server_id, net_id):
        response = app.post_json(
            '/v2.1/servers/%s/os-interface' % server_id,
            {'interfaceAttachment': {'net_id': net_id}},
            headers={'X-Auth-Token': test_concurrency.MEMBER},
            expect_errors=True)
        return response.status_int, response.json

    def start_load(self):
        vms = self.make_servers(12)
        net = self.make_network('10.0.0.0/16')
        self.settle()
        load = Load([(i % 3, self.ports[i % 3], vm, net)
                     for i, vm in enumerate(vms)])
        self.addCleanup(load.stop)
        return load

    def assertFaultAnswers(self, records):
        """The faulted API: successes, 503s, and what a lost answer leaves.

        A write whose connection was lost at COMMIT may have landed (a
        503 all the same): the client's next attach finds the server on
        the network (400), or its detach finds nothing (404).
        """
        for r in records:
            self.assertIn(r.status, (200, 202, 503, 400, 404), r)
            if r.status == 400:
                self.assertIn('is duplicated', r.message, r)

    def assertServedAgain(self, records, since):
        after = [r.status for r in records if r.started > since + 3]
        self.assertIn(200, after)
        self.assertNotIn(503, after)

    def assertOthersCarriedOn(self, records, faulted):
        others = [(r.method, r.status, r.message) for r in records
                  if r.api != faulted]
        self.assertAllowed(others, {('POST', 200, None),
                                    ('GET', 200, None),
                                    ('DELETE', 202, None)})


def summary(records):
    """Per API: the answers counted by status, and the longest wait."""
    lines = []
    for api in sorted({r.api for r in records}):
        mine = [r for r in records if r.api == api]
        lines.append('API %d: %s, longest %.1f s' % (api, dict(sorted(
            collections.Counter(r.status for r in mine).items())),
            max(r.took for r in mine)))
    return '; '.join(lines)


class Record:
    """One request of the load: where, when, how long, and its answer."""

    def __init__(self, api, method, started, took, status, headers, answer):
        self.api, self.method = api, method
        self.started, self.took = started, took
        self.status = status
        self.retry_after = headers.get('Retry-After')
        self.message = test_concurrency._message(status, answer)

    def __repr__(self):
        return repr(self.__dict__)


class Load:
    """Clients attaching, listing and detaching until stopped.

    Each client keeps to one API and one server. After an answer that is
    not a success (its node down, say) it lists the server and detaches
    whatever is there: a write whose answer was lost may have landed.
    """

    def __init__(self, clients):
        self._stop = threading.Event()
        self._records = []
        self._threads = [threading.Thread(target=self._client, args=client)
                         for client in clients]
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return self._records

    def _request(self, api, port, method, path, body=None):
        started = time.monotonic()
        try:
            status, headers, answer = api_process.request(
                port, method, path, json.dumps(body) if body else None,
                token=test_concurrency.MEMBER, timeout=60)
        except OSError as e:
            status, headers, answer = 0, {}, {'error': {'message': repr(e)}}
        self._records.append(Record(api, method, started,
                                    time.monotonic() - started, status,
                                    headers, answer))
        return status, answer

    def _client(self, api, port, server_id, net_id):
        path = '/v2.1/servers/%s/os-interface' % server_id
        while not self._stop.is_set():
            status, answer = self._request(api, port, 'POST', path, {
                'interfaceAttachment': {'net_id': net_id}})
            if status == 200:
                port_id = answer['interfaceAttachment']['port_id']
                self._request(api, port, 'GET', path)
                status, _ = self._request(api, port, 'DELETE',
                                          '%s/%s' % (path, port_id))
                if status == 202:
                    continue
            time.sleep(0.2)
            status, answer = self._request(api, port, 'GET', path)
            for attachment in (answer or {}).get('interfaceAttachments', ()
                                                 ) if status == 200 else ():
                self._request(api, port, 'DELETE', '%s/%s' % (
                    path, attachment['port_id']))
