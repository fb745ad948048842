"""The store and the API on MariaDB/MySQL and PostgreSQL.

The same migrations and the same behaviour tables as on SQLite, against
the database servers operators run (opportunistic: skipped, with the
reason, when a server is unreachable; both run locally on the CI machine).
"""

from oslo_db.sqlalchemy import test_migrations
from oslotest import base

from interface_attach.db import migration
from interface_attach.db import tables
from tests import fixtures as ia_fixtures
from tests.functional import test_create_interface
from tests.functional import test_interfaces_resource
from tests.functional import test_v21_contract
from tests.unit import test_networks_store
from tests.unit import test_recovery


class _ModelsMigrationsSync(test_migrations.ModelsMigrationsSync):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(
            ia_fixtures.ServiceFixture(backend=self.backend))

    def db_sync(self, engine):
        migration.db_sync(self.service.database)

    def get_engine(self):
        return self.service.database.engine

    def get_metadata(self):
        return tables.metadata


class TestMigrationsMySQL(_ModelsMigrationsSync, base.BaseTestCase):
    backend = 'mysql'


class TestMigrationsPostgreSQL(_ModelsMigrationsSync, base.BaseTestCase):
    backend = 'postgresql'


class TestNetworkStoreMySQL(test_networks_store.NetworkStoreTest):
    backend = 'mysql'


class TestNetworkStorePostgreSQL(test_networks_store.NetworkStoreTest):
    backend = 'postgresql'


class TestAddressWindowMySQL(test_networks_store.AddressWindowTest):
    backend = 'mysql'


class TestAddressWindowPostgreSQL(test_networks_store.AddressWindowTest):
    backend = 'postgresql'


class TestCreateInterfaceMySQL(test_create_interface.TestCreateInterface):
    backend = 'mysql'


class TestCreateInterfacePostgreSQL(
        test_create_interface.TestCreateInterface):
    backend = 'postgresql'


class TestCreateInterfaceFaultsMySQL(
        test_create_interface.TestCreateInterfaceFaults):
    backend = 'mysql'


class TestCreateInterfaceFaultsPostgreSQL(
        test_create_interface.TestCreateInterfaceFaults):
    backend = 'postgresql'


class TestRecoveryMySQL(test_recovery.RecoveryTest):
    backend = 'mysql'


class TestRecoveryPostgreSQL(test_recovery.RecoveryTest):
    backend = 'postgresql'


class TestResourceMySQL(test_interfaces_resource.TestResourceOnV21):
    backend = 'mysql'


class TestResourcePostgreSQL(test_interfaces_resource.TestResourceOnV21):
    backend = 'postgresql'


class TestTagMySQL(test_v21_contract.TestTag):
    backend = 'mysql'


class TestTagPostgreSQL(test_v21_contract.TestTag):
    backend = 'postgresql'


class TestTextNoDatabaseStoresMySQL(
        test_v21_contract.TestTextNoDatabaseStores):
    backend = 'mysql'


class TestTextNoDatabaseStoresPostgreSQL(
        test_v21_contract.TestTextNoDatabaseStores):
    backend = 'postgresql'
