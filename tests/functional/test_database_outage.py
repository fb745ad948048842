"""A database outage: 503 within a bounded time, then service resumes.

The service reaches MariaDB or PostgreSQL through a TCP proxy that the
test cuts (every connection reset, new ones refused) and restores, with
no restart of the service in between.
"""

import collections
import threading
import time

import fixtures
from oslotest import base
import sqlalchemy as sa

from interface_attach import checker
from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import networks
from interface_attach.db import servers
from tests import api_process
from tests import databases
from tests import fixtures as ia_fixtures
from tests.functional import base as functional
from tests import tcp_proxy

# The longest a request may take to fail while the database is down.
BOUND = 15

# One request of the load: when it started and ended, and its answer.
Result = collections.namedtuple(
    'Result', 'method started ended status answer')


class DatabaseOutageTest(functional.FunctionalTestCase):

    backend = 'postgresql'
    options = None
    bound = BOUND

    def setUp(self):
        super().setUp()
        url = sa.engine.make_url(databases.database_url(self.backend))
        self.proxy = self.useFixture(tcp_proxy.TcpProxy(url.host, url.port))
        proxied = url.set(host='127.0.0.1', port=self.proxy.port)
        self.start_service_on(
            proxied.render_as_string(hide_password=False), self.options)

    def lose_database(self):
        self.proxy.cut()

    def regain_database(self):
        self.proxy.restore()

    def start_service_on(self, connection, options=None):
        self.service = self.useFixture(ia_fixtures.ServiceFixture(
            backend=self.backend, connection=connection, options=options))
        self.app = self.service.app
        self.servers = self.service.servers
        self.networks = self.service.networks

    def timed(self, call):
        started = time.monotonic()
        response = call()
        return response, time.monotonic() - started

    def test_requests_fail_fast_with_503_then_resume(self):
        w = self.make_world()
        response = self.attach(w.server, {'interfaceAttachment': {
            'port_id': w.port}})
        self.assertEqual(200, response.status_int, response.text)

        self.lose_database()
        for _ in range(3):
            response, took = self.timed(lambda: self.attach(
                w.server, {'interfaceAttachment': {}}))
            self.assertFault(response, 503, 'The database service is '
                             'unavailable. Please try again later.')
            self.assertEqual('5', response.headers['Retry-After'])
            self.assertRequestIds(response)
            self.assertLess(took, self.bound)

        self.regain_database()
        response = self.attach(w.server, {'interfaceAttachment': {}},
                               token=functional.admin())
        # The network of the first attach: a 400, from a working service.
        self.assertEqual(400, response.status_int, response.text)
        self.assertEqual([], checker.check(self.service.database, False,
                                           300))


class DatabaseOutageMySQLTest(DatabaseOutageTest):
    backend = 'mysql'


class FrozenDatabaseTest(DatabaseOutageTest):
    """A server that stopped: connections stay open, nothing answers.

    PyMySQL's read timeout (the statement timeout) bounds every wait; on
    PostgreSQL, psycopg's waits are bounded the same way (a stopped
    server cannot enforce its own statement_timeout).
    """

    backend = 'mysql'
    # Seconds; the default statement timeout is 10, shortened here.
    options = {'database': {'statement_timeout': '2',
                            'connect_timeout': '1'}}
    # The first statement on a pooled connection (the statement timeout),
    # then the greeting of up to two new connections, and a margin.
    bound = 2 + 2 * 1 + 1

    def lose_database(self):
        self.proxy.freeze()

    def regain_database(self):
        self.proxy.thaw()


class FrozenDatabasePostgreSQLTest(FrozenDatabaseTest):
    backend = 'postgresql'
    # The client's bound is 2 s beyond the server's statement_timeout,
    # and psycopg waits at least 2 s for a new connection.
    bound = (2 + 2) + 2 * 2 + 1


class DatabaseOutageUnderLoadTest(base.BaseTestCase):
    """The database lost while clients hammer a real API process."""

    backend = 'postgresql'

    def test_outage_under_load(self):
        url = sa.engine.make_url(databases.database_url(self.backend))
        proxy = self.useFixture(tcp_proxy.TcpProxy(url.host, url.port))
        proxied = url.set(host='127.0.0.1', port=proxy.port)
        directory = self.useFixture(fixtures.TempDir()).path
        port = api_process.free_port()
        sections = api_process.dev_sections(
            directory, port, proxied.render_as_string(hide_password=False))
        sections['DEFAULT']['debug'] = 'false'
        sections['api']['demo_data_on_start'] = 'false'
        # Operations a failed undo leaves are recovered after 5 s.
        sections['recovery'] = {'interval': '1', 'stale_after': '5'}
        config = api_process.write_config(directory, sections)
        conf = ia_conf.new_conf(config_files=[config])
        database = engine.Database(conf.database)
        self.addCleanup(database.dispose)
        migration.db_sync(database)
        databases.empty(database)
        store = networks.NetworkStore(database)
        vms = [servers.ServerStore(database).create(
            functional.PROJECT, 'vm%d' % i).id for i in range(8)]
        net = store.create_network(functional.PROJECT, 'net')
        store.create_subnet(net.id, '10.0.0.0/22')
        self.useFixture(api_process.ApiProcess(config, port))

        results = []
        stop = threading.Event()

        def client(vm):
            path = '/v2.1/servers/%s/os-interface' % vm
            while not stop.is_set():
                for method, target, body in (
                        ('POST', path, '{"interfaceAttachment": {}}'),
                        ('GET', path, None)):
                    started = time.monotonic()
                    try:
                        status, _, answer = api_process.request(
                            port, method, target, body,
                            token=functional.member(), timeout=60)
                    except OSError as e:
                        status, answer = 0, repr(e)
                    results.append(Result(method, started, time.monotonic(),
                                          status, answer))
                    if method == 'POST' and status == 200:
                        api_process.request(
                            port, 'DELETE', '%s/%s' % (
                                path, answer['interfaceAttachment'][
                                    'port_id']),
                            token=functional.member(), timeout=60)
        threads = [threading.Thread(target=client, args=(vm,))
                   for vm in vms]
        for thread in threads:
            thread.start()
        try:
            time.sleep(3)
            cut_at = time.monotonic()
            proxy.cut()
            time.sleep(5)
            proxy.restore()
            restored_at = time.monotonic()
            time.sleep(5)
        finally:
            stop.set()
            for thread in threads:
                thread.join()

        # A 400 is a server already on the network: its detach failed
        # with a 503 during the outage, so the port is still attached.
        for r in results:
            self.assertIn(r.status, (200, 400, 503), r.answer)
            if r.status == 400:
                self.assertIn('is duplicated', r.answer['badRequest'][
                    'message'])
        self.assertLess(max(r.ended - r.started for r in results), BOUND)
        during = [r.status for r in results
                  if cut_at + 1 < r.ended < restored_at]
        self.assertIn(503, during)
        after = [r.status for r in results if r.ended > restored_at + 2]
        self.assertIn(200, after)
        self.assertNotIn(503, after)
        # The pool's connections all died in the outage, and none is
        # pinged: a read that meets one runs again on a new connection.
        reads_after = [r.status for r in results
                       if r.method == 'GET' and r.started > restored_at]
        self.assertTrue(reads_after)
        self.assertEqual({200}, set(reads_after))
        deadline = time.monotonic() + 30
        while checker.check(database, False, 5):
            self.assertLess(time.monotonic(), deadline,
                            checker.check(database, False, 5))
            time.sleep(1)


class DatabaseOutageUnderLoadMySQLTest(DatabaseOutageUnderLoadTest):
    backend = 'mysql'
