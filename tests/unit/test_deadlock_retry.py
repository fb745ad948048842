"""A write the database aborts runs again: a deadlock a few times, a
transaction on a dead pooled connection once."""

import fixtures
from oslo_db import exception as db_exc
from oslotest import base
import sqlalchemy as sa

from interface_attach.api import paste
from interface_attach import checker
from interface_attach.db import attachments
from interface_attach.db import engine
from interface_attach import exception
from interface_attach.network import local
from tests import fixtures as ia_fixtures


class WriteTestCase(base.BaseTestCase):
    """An attachment store on SQLite, and writes that fail on request."""

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(ia_fixtures.ServiceFixture())
        self.database = self.service.database
        self.store = attachments.AttachmentStore(self.database, False)
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def _fail_first(self, times, error, owner, name):
        """``owner.name`` raises ``error()`` in its first ``times`` calls."""
        real = getattr(owner, name)
        calls = []

        def failing(*args, **kwargs):
            calls.append(None)
            if len(calls) <= times:
                raise error()
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            owner, name, autospec=True, side_effect=failing))
        return calls

    def _reserve(self):
        self.store.reserve('server-1', 'port-1', 'net-1', port_created=True,
                           owner='host:1:abc')


class DeadlockRetryTest(WriteTestCase):

    def _deadlocks(self, times):
        """The next ``times`` write transactions abort as deadlocks."""
        return self._fail_first(times, db_exc.DBDeadlock, engine.Database,
                                'writer')

    def test_a_deadlocked_write_runs_again_and_lands_once(self):
        calls = self._deadlocks(2)
        self._reserve()
        self.assertEqual(3, len(calls))
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])

    def test_it_gives_up_after_eight_retries_with_a_503(self):
        calls = self._deadlocks(9)
        e = self.assertRaises(exception.ServiceUnavailable, self._reserve)
        self.assertEqual(engine.RETRY_AFTER, e.retry_after)
        self.assertEqual(9, len(calls))
        self.assertEqual([], self.store.in_flight())

    def test_a_read_the_database_gives_up_on_is_a_503(self):
        # A lock wait, or a Galera node's wait to catch up, that ran out:
        # oslo.db names it a deadlock, and reads are not retried.
        def read():
            with self.database.reader():
                raise db_exc.DBDeadlock()
        e = self.assertRaises(exception.ServiceUnavailable, read)
        self.assertEqual(engine.RETRY_AFTER, e.retry_after)

    def test_inside_an_open_transaction_the_write_is_not_retried_alone(self):
        # The deadlock aborted the whole transaction: running the one
        # write again inside it would be wrong.
        insert = self.useFixture(fixtures.MockPatchObject(
            self.store, '_insert', side_effect=db_exc.DBDeadlock())).mock
        with self.database.writer():
            self.assertRaises(db_exc.DBDeadlock, self.store.add, 'server-1',
                              'port-1', 'net-1', port_created=True)
        self.assertEqual(1, insert.call_count)

    def test_an_attach_in_one_transaction_runs_again_whole(self):
        services = paste.Services(self.service.conf)
        self.addCleanup(services.database.dispose)
        compute = services.compute
        server = self.service.servers.create('p1', 'vm')
        net = self.service.networks.create_network('p1', 'net')
        self.service.networks.create_subnet(net.id, '10.0.0.0/24')
        real_create = local.LocalDriver.create_port
        creates = []

        def deadlock_once(driver, *args, **kwargs):
            creates.append(None)
            if len(creates) == 1:
                raise db_exc.DBDeadlock()
            return real_create(driver, *args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            local.LocalDriver, 'create_port', autospec=True,
            side_effect=deadlock_once))
        add = self.useFixture(fixtures.MockPatchObject(
            compute.attachments, 'add',
            wraps=compute.attachments.add)).mock

        port = compute.attach_interface(server, network_id=net.id)

        self.assertEqual((2, 2), (len(creates), add.call_count))
        self.assertEqual([port.id], [
            row.port_id for row in compute.attachments.list_for_server(
                server.id)])
        self.assertEqual([port.id], [p.id for p in
                                     compute.driver.list_server_ports(server)])
        self.assertEqual([], checker.check(self.database, False, 300))


def _dead_connection():
    """What a pooled connection whose server went away raises at first use.

    The pool pings none on checkout.
    """
    return db_exc.DBConnectionError(sa.exc.OperationalError(
        'SELECT 1', {}, Exception(2006, 'MySQL server has gone away'),
        connection_invalidated=True))


class DeadConnectionTest(WriteTestCase):
    """After a database restart, the pool's old connections are dead."""

    def _statements_fail(self, times):
        return self._fail_first(times, _dead_connection,
                                sa.engine.Connection, 'execute')

    def test_a_write_runs_once_more_on_a_new_connection(self):
        calls = self._statements_fail(1)
        self._reserve()
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])
        self.assertLess(1, len(calls))

    def test_a_read_runs_once_more(self):
        server = self.service.servers.create('p1', 'vm')
        self._statements_fail(1)
        self.assertEqual(server.id, self.service.servers.get(server.id).id)

    def test_a_gets_reads_run_once_more_in_a_new_snapshot(self):
        services = paste.Services(self.service.conf)
        self.addCleanup(services.database.dispose)
        server = self.service.servers.create('p1', 'vm')
        snapshots = []

        def handler(services, server_id):
            snapshots.append(services.database.in_transaction())
            return services.compute.servers.get(server_id).id
        self._statements_fail(1)
        self.assertEqual(server.id, services.read(handler, server.id))
        self.assertEqual([True, True], snapshots)

    def test_a_second_dead_connection_in_a_row_is_a_503(self):
        self._statements_fail(2)
        e = self.assertRaises(exception.ServiceUnavailable, self._reserve)
        self.assertEqual(engine.RETRY_AFTER, e.retry_after)
        self.assertEqual([], self.store.in_flight())

    def test_inside_an_open_transaction_only_its_opener_runs_again(self):
        calls = self._statements_fail(1)
        with self.database.writer():
            self.assertRaises(db_exc.DBConnectionError, self._reserve)
        self.assertEqual(1, len(calls))


def _commit_deadlock():
    """A deadlock whose error has no statement.

    What oslo.db raises for MariaDB's 1213 at COMMIT (a Galera
    certification failure).
    """
    return db_exc.DBDeadlock(sa.exc.OperationalError(
        None, None, Exception(1213, 'Deadlock found when trying to get '
                                    'lock; try restarting transaction')))


class ConflictAtCommitTest(WriteTestCase):
    """Galera reports a conflict at COMMIT; InnoDB drops savepoints."""

    def _commits_fail(self, times):
        return self._fail_first(times, _commit_deadlock,
                                sa.engine.Connection, 'commit')

    def test_a_deadlock_at_commit_runs_again_not_a_503(self):
        calls = self._commits_fail(1)
        self._reserve()
        self.assertEqual(2, len(calls))
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])

    def test_a_retry_budget_spent_is_a_503_with_retry_after(self):
        calls = self._commits_fail(9)
        e = self.assertRaises(exception.ServiceUnavailable, self._reserve)
        self.assertEqual(engine.RETRY_AFTER, e.retry_after)
        self.assertEqual(9, len(calls))
        self.assertEqual([], self.store.in_flight())

    def test_a_lost_connection_at_commit_is_still_unreachable(self):
        # It may have committed: running it again could write it twice.
        lost = sa.exc.OperationalError(None, None, Exception(2013, 'Lost'))
        commit = self.useFixture(fixtures.MockPatchObject(
            sa.engine.Connection, 'commit', autospec=True,
            side_effect=db_exc.DBConnectionError(lost))).mock
        e = self.assertRaises(exception.ServiceUnavailable, self._reserve)
        self.assertNotIsInstance(e, engine.StaleConnection)
        self.assertEqual(1, commit.call_count)

    def test_a_deadlock_in_a_savepoint_whose_rollback_fails_runs_again(self):
        # MariaDB: the deadlock rolled back the whole transaction, so
        # ROLLBACK TO SAVEPOINT fails with 1305; the deadlock must show.
        gone = db_exc.DBError(sa.exc.OperationalError(
            'ROLLBACK TO SAVEPOINT sa_savepoint_1', None,
            Exception(1305, 'SAVEPOINT sa_savepoint_1 does not exist')))
        rollback = self.useFixture(fixtures.MockPatchObject(
            sa.engine.NestedTransaction, 'rollback', side_effect=gone)).mock
        writes = []

        class Store:
            _db = self.database

            @engine.retried
            def write(store):
                with self.database.writer():
                    with self.database.writer(savepoint=True):
                        writes.append(None)
                        if len(writes) == 1:
                            raise _commit_deadlock()
                self._reserve()

        Store().write()
        self.assertEqual((2, 1), (len(writes), rollback.call_count))
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])

    def test_another_failure_in_a_savepoint_is_undone_there_only(self):
        with self.database.writer():
            self.assertRaises(exception.PortExists, self._fail_in_savepoint)
            self._reserve()
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])

    def _fail_in_savepoint(self):
        with self.database.writer(savepoint=True):
            self.store.reserve('server-2', 'port-2', 'net-1',
                               port_created=True, owner='host:1:abc')
            raise exception.PortExists(port_id='port-2')
