"""The Alembic migrations build exactly the schema the tables declare."""

import fixtures
import netaddr
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import test_migrations
from oslotest import base

from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import tables


class _DatabaseConf:
    connection = None
    mysql_sql_mode = 'TRADITIONAL'
    mysql_wsrep_sync_wait = None
    connection_recycle_time = 3600
    max_pool_size = 5
    max_overflow = 50
    pool_timeout = None
    max_retries = 10
    retry_interval = 10
    connection_debug = 0
    connection_parameters = ''
    connect_timeout = 3
    statement_timeout = 10
    outcome_timeout = 2
    sqlite_lock_timeout = 5


class TestModelsMigrationsSync(test_migrations.ModelsMigrationsSync,
                               base.BaseTestCase):

    def setUp(self):
        super().setUp()
        conf = _DatabaseConf()
        conf.connection = 'sqlite:///%s/db.sqlite' % self.useFixture(
            fixtures.TempDir()).path
        self.database = engine.Database(conf)
        self.addCleanup(self.database.dispose)

    def db_sync(self, engine):
        migration.db_sync(self.database)

    def get_engine(self):
        return self.database.engine

    def get_metadata(self):
        return tables.metadata

    def test_version_after_sync(self):
        self.assertIsNone(migration.db_version(self.database))
        migration.db_sync(self.database)
        self.assertEqual('0003', migration.db_version(self.database))
        # A second sync is a no-op, as start-up and operators may repeat it.
        migration.db_sync(self.database)
        self.assertEqual('0003', migration.db_version(self.database))

    def test_0002_gives_existing_addresses_their_key(self):
        migration.db_sync(self.database, '0001')
        now = '2026-11-27 00:00:00'
        with self.database.engine.begin() as conn:
            for statement in (
                    "INSERT INTO networks VALUES ('n1', 'p1', 'net', 0, "
                    "'%s')" % now,
                    "INSERT INTO subnets VALUES ('s1', 'n1', '10.0.0.0/8', "
                    "4, '10.0.0.1', '%s')" % now,
                    "INSERT INTO ports VALUES ('p1', 'p1', 'n1', "
                    "'fa:16:3e:00:00:01', '', '', 'DOWN', '%s', NULL)" % now,
                    "INSERT INTO ip_allocations VALUES ('s1', '10.1.2.3', "
                    "'p1')"):
                conn.exec_driver_sql(statement)
        migration.db_sync(self.database)
        with self.database.engine.connect() as conn:
            self.assertEqual(
                [('10.1.2.3', '%032x' % 0x0a010203)],
                conn.exec_driver_sql('SELECT ip_address, address_key FROM '
                                     'ip_allocations').all())

    def test_0003_guards_each_address_of_a_network_once(self):
        migration.db_sync(self.database, '0002')
        statements = [
            "INSERT INTO networks VALUES ('n1', 'p1', 'net', 0, "
            "'2026-12-01 00:00:00')"]
        # Two overlapping subnets gave 10.0.0.2 twice, before 0003.
        for subnet, minute in (('s1', 1), ('s2', 2)):
            statements.append(
                "INSERT INTO subnets VALUES ('%s', 'n1', '10.0.0.0/24', 4, "
                "'10.0.0.1', '2026-12-01 00:0%d:00')" % (subnet, minute))
        for port, subnet, address in (('p1', 's1', '10.0.0.2'),
                                      ('p2', 's2', '10.0.0.2'),
                                      ('p3', 's2', '10.0.0.3')):
            statements.append(
                "INSERT INTO ports VALUES ('%s', 'p1', 'n1', "
                "'fa:16:3e:00:00:0%s', '', '', 'DOWN', "
                "'2026-12-01 00:00:00', NULL)" % (port, port[1]))
            statements.append(
                "INSERT INTO ip_allocations VALUES ('%s', '%s', '%s', '%032x')"
                % (subnet, address, port, int(netaddr.IPAddress(address))))
        with self.database.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        migration.db_sync(self.database)
        with self.database.engine.connect() as conn:
            # The older subnet's holder keeps the address; the other is
            # left unguarded, for check to report.
            self.assertEqual(
                [('p1', 'n1'), ('p2', None), ('p3', 'n1')],
                conn.exec_driver_sql(
                    'SELECT port_id, network_guard FROM ip_allocations '
                    'ORDER BY port_id').all())
        with self.database.engine.begin() as conn:
            self.assertRaises(
                db_exc.DBDuplicateEntry, conn.exec_driver_sql,
                "INSERT INTO ip_allocations VALUES ('s1', '10.0.0.3', 'p1', "
                "'%032x', 'n1')" % int(netaddr.IPAddress('10.0.0.3')))
