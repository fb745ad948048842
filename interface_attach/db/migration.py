"""Schema migrations with Alembic: ``db sync`` and the current revision."""

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration


def _alembic_config(connection):
    config = alembic_config.Config()
    config.set_main_option('script_location',
                           'interface_attach.db:migrations')
    config.attributes['connection'] = connection
    return config


def db_sync(database, revision='head'):
    """Upgrade the schema to ``revision``."""
    with database.engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def db_version(database):
    """The schema's current revision, or None before the first sync."""
    with database.engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()
