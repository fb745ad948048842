"""An operator's slips under a real interface-attach-api, and the answers.

The SQLite file removed under the running service, another program
holding SQLite's write lock, and start-up mistakes: each is a 503 or one
line and exit 1, in bounded time, never a 200 into a lost file, a hang or
a traceback.
"""

import concurrent.futures
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import fixtures
from oslotest import base
import testtools

from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach import demo
from interface_attach import exception
from tests import api_process
from tests import databases

TOKEN = 'demo:%s' % demo.PROJECT_ID
INTERFACES = '/v2/%s/servers/%s/os-interface' % (demo.PROJECT_ID,
                                                 demo.SERVER_ID)
ATTACH_BY_NETWORK = '{"interfaceAttachment": {"net_id": "%s"}}' % (
    demo.NETWORK_ID)
UNAVAILABLE = 'The database service is unavailable. Please try again later.'


class RunningServiceTest(base.BaseTestCase):
    """The embedded service on SQLite, as README's first command runs it."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = api_process.free_port()
        self.sections = api_process.dev_sections(self.dir, self.port)
        self.config = api_process.write_config(self.dir, self.sections)
        self.db_path = os.path.join(self.dir, 'interface-attach.sqlite')
        self.server = self.useFixture(
            api_process.ApiProcess(self.config, self.port))

    def call(self, method, path=INTERFACES, body=None):
        return api_process.request(self.port, method, path, body,
                                   token=TOKEN, timeout=30)

    def assertUnavailable(self, answer):
        status, headers, body = answer
        self.assertEqual(503, status, body)
        self.assertEqual({'serviceUnavailable': {'code': 503,
                                                 'message': UNAVAILABLE}},
                         body)
        self.assertEqual('5', headers['Retry-After'])

    def errors(self):
        """The log's ERROR lines (its fields: date, time, pid, level...)."""
        with open(os.path.join(self.dir, 'api.log')) as f:
            return [line for line in f if line.split(' ', 4)[3:4] == [
                'ERROR']]


class RemovedDatabaseFileTest(RunningServiceTest):

    def remove_database(self):
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(self.db_path + suffix):
                os.remove(self.db_path + suffix)

    def test_nothing_is_acknowledged_once_the_file_is_gone(self):
        self.assertEqual(200, self.call('POST', body=ATTACH_BY_NETWORK)[0])
        self.remove_database()
        # Both workers, reads and writes: every answer is a 503.
        for _ in range(10):
            self.assertUnavailable(self.call('POST', body=ATTACH_BY_NETWORK))
            self.assertUnavailable(self.call('GET'))
        self.assertFalse(os.path.exists(self.db_path))
        self.assertEqual(0, self.server.stop())
        errors = self.errors()
        # One line per worker that noticed, naming the file.
        self.assertTrue(errors)
        for line in errors:
            self.assertIn('The database file %s was removed while in use'
                          % self.db_path, line)

        # A restart, db_sync_on_start included, does not start from an
        # empty database in its place.
        result = subprocess.run(
            [sys.executable, '-m', 'interface_attach.cmd.api',
             '--config-file', self.config], capture_output=True, text=True,
            timeout=60)
        self.assertEqual(1, result.returncode)
        self.assertEqual(
            'interface-attach-api: error: The database file %s is missing, '
            'but %s-writer shows a database was in use there: restore the '
            'file, or remove %s-writer to start from an empty database'
            % ((self.db_path,) * 3), result.stderr.splitlines()[-1])
        self.assertNotIn('Traceback', result.stderr)
        self.assertFalse(os.path.exists(self.db_path))

    def test_a_replaced_file_is_not_written_either(self):
        self.remove_database()
        sqlite3.connect(self.db_path).close()
        self.assertUnavailable(self.call('POST', body=ATTACH_BY_NETWORK))
        self.assertIn('The database file %s was replaced while in use'
                      % self.db_path, self.errors()[0])


class StuckLockTest(RunningServiceTest):
    """Another program holds SQLite's write lock for longer than a request."""

    # [database] sqlite_lock_timeout's default: each writer ahead in the
    # queue of this host's writers waits that long, then a write itself.
    LOCK_TIMEOUT = 5

    def hold_the_write_lock(self):
        """Until the returned event is set."""
        locked, release = threading.Event(), threading.Event()

        def hold():
            conn = sqlite3.connect(self.db_path, isolation_level=None)
            conn.execute('BEGIN EXCLUSIVE')
            locked.set()
            release.wait(60)
            conn.execute('ROLLBACK')
            conn.close()

        holder = threading.Thread(target=hold)
        holder.start()
        self.addCleanup(holder.join)
        self.addCleanup(release.set)
        self.assertTrue(locked.wait(5))
        return release

    def test_writes_answer_503_in_bounded_time_and_reads_go_on(self):
        self.assertEqual(200, self.call('GET')[0])
        release = self.hold_the_write_lock()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            started = time.monotonic()
            # One write per worker waits for the lock, a third waits for
            # one of them: in all, three lock timeouts at most.
            writes = [pool.submit(self.call, 'POST', INTERFACES,
                                  ATTACH_BY_NETWORK) for _ in range(3)]
            time.sleep(0.5)
            for _ in range(10):
                read_started = time.monotonic()
                self.assertEqual(200, self.call('GET')[0])
                self.assertLess(time.monotonic() - read_started, 1)
            for write in writes:
                self.assertUnavailable(write.result())
            self.assertLess(time.monotonic() - started,
                            3 * self.LOCK_TIMEOUT + 3)
        release.set()
        self.assertEqual(200, self.call('POST', body=ATTACH_BY_NETWORK)[0])
        self.assertEqual([], self.errors())


class StartupMistakesTest(base.BaseTestCase):
    """Each mistake: exit 1, one line saying what to fix, in bounded time."""

    # The longest a start may take to fail on an unreachable database:
    # oslo.db's 3 attempts of 3 s each and 1 s pauses (12 s), and the
    # interpreter's start, which takes 2 s alone and up to 6 s beside the
    # rest of the suite on this machine kind.
    BOUND = 20

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.sections = api_process.dev_sections(self.dir, 1)
        del self.sections['DEFAULT']['log_file']

    def run_api(self, **changes):
        for group, options in changes.items():
            self.sections.setdefault(group, {}).update(options)
        config = api_process.write_config(self.dir, self.sections)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, '-m', 'interface_attach.cmd.api',
             '--config-file', config], capture_output=True, text=True,
            timeout=60)
        return result, time.monotonic() - started

    def assertFailsWith(self, message, **changes):
        result, took = self.run_api(**changes)
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith('interface-attach-api: error: ')]
        self.assertEqual(1, len(errors), result.stderr)
        self.assertIn(message, errors[0])
        return took

    def test_an_unknown_network_driver(self):
        self.assertFailsWith("No 'interface_attach.network_drivers' driver "
                             "found, looking for 'nosuch'",
                             network={'driver': 'nosuch'})

    def test_a_bad_database_url(self):
        self.assertFailsWith("Could not parse SQLAlchemy URL",
                             database={'connection': 'nonsense'})

    def test_a_missing_paste_file(self):
        self.assertFailsWith('Cannot find the paste config nosuch.ini',
                             api={'api_paste_config': 'nosuch.ini'})

    def test_a_bad_option_value(self):
        self.assertFailsWith('workers', api={'workers': 'two'})

    def test_a_database_that_never_answers_fails_in_bounded_time(self):
        # It accepts connections (the kernel does) and says nothing.
        silent = socket.socket()
        silent.bind(('127.0.0.1', 0))
        silent.listen(16)
        self.addCleanup(silent.close)
        url = 'postgresql+psycopg://postgres@127.0.0.1:%d/x' % (
            silent.getsockname()[1])
        took = self.assertFailsWith('cannot open the database %s' % url,
                                    database={'connection': url})
        self.assertLess(took, self.BOUND)

    def test_a_mysql_server_that_never_greets_fails_in_bounded_time(self):
        # PyMySQL waits for the greeting with its read timeout.
        silent = socket.socket()
        silent.bind(('127.0.0.1', 0))
        silent.listen(16)
        self.addCleanup(silent.close)
        url = 'mysql+pymysql://root@127.0.0.1:%d/x' % silent.getsockname()[1]
        took = self.assertFailsWith('cannot open the database %s' % url,
                                    database={'connection': url})
        self.assertLess(took, self.BOUND)

    def test_a_refused_database_fails_fast(self):
        url = 'mysql+pymysql://root@127.0.0.1:%d/x' % api_process.free_port()
        took = self.assertFailsWith('cannot open the database %s' % url,
                                    database={'connection': url})
        self.assertLess(took, self.BOUND)


class MySQLStatementTimeTest(base.BaseTestCase):
    """Statements are bounded by the statement timeout, not the handshake's."""

    backend = 'mysql'
    sleep = 'SELECT SLEEP(%d)'

    def database(self, **options):
        conf = ia_conf.new_conf([])
        conf.set_override('connection', databases.database_url(self.backend),
                          group='database')
        for name, value in options.items():
            conf.set_override(name, value, group='database')
        database = engine.Database(conf.database)
        self.addCleanup(database.dispose)
        return database

    def test_a_statement_longer_than_connect_timeout_runs_to_its_end(self):
        # With the default statement timeout.
        database = self.database(connect_timeout=1)
        with database.reader() as conn:
            conn.exec_driver_sql(self.sleep % 2).all()

    def test_a_statement_longer_than_the_statement_timeout_is_a_503(self):
        database = self.database(statement_timeout=1)
        started = time.monotonic()
        with testtools.ExpectedException(exception.ServiceUnavailable):
            with database.reader() as conn:
                conn.exec_driver_sql(self.sleep % 5).all()
        self.assertLess(time.monotonic() - started, 4)
        # The next transaction has a working connection.
        with database.reader() as conn:
            self.assertEqual(1, conn.exec_driver_sql('SELECT 1').scalar())


class PostgreSQLStatementTimeTest(MySQLStatementTimeTest):

    backend = 'postgresql'
    sleep = 'SELECT pg_sleep(%d)'
