"""The Alembic migrations build exactly the schema the tables declare."""

import fixtures
from oslo_db.sqlalchemy import test_migrations
from oslotest import base

from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import tables


class _DatabaseConf:
    connection = None
    mysql_sql_mode = 'TRADITIONAL'
    connection_recycle_time = 3600
    max_pool_size = 5
    max_overflow = 50
    pool_timeout = None
    max_retries = 10
    retry_interval = 10
    connection_debug = 0


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
        self.assertEqual('0001', migration.db_version(self.database))
        # A second sync is a no-op, as start-up and operators may repeat it.
        migration.db_sync(self.database)
        self.assertEqual('0001', migration.db_version(self.database))
