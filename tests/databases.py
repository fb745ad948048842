"""Opportunistic database servers: MariaDB/MySQL and PostgreSQL.

Each test process creates one fresh database per back end on first use
(``ia_test_<random>``), migrates it with the real Alembic scripts through
the service fixture, empties it before every test that uses it, and drops
it when the process exits. A server that cannot be reached makes those
tests skip, saying where it looked and which variable to set.
"""

import atexit
import os
import unittest
import uuid

import sqlalchemy as sa

from interface_attach.db import tables

ADMIN_URLS = {
    'mysql': os.environ.get('INTERFACE_ATTACH_TEST_MYSQL_URL',
                            'mysql+pymysql://root@127.0.0.1:3306/'),
    'postgresql': os.environ.get(
        'INTERFACE_ATTACH_TEST_POSTGRESQL_URL',
        'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'),
}
_ENV = {'mysql': 'INTERFACE_ATTACH_TEST_MYSQL_URL',
        'postgresql': 'INTERFACE_ATTACH_TEST_POSTGRESQL_URL'}

_databases = {}


def database_url(backend):
    """This process's database on ``backend``. :raises SkipTest:"""
    if backend not in _databases:
        _databases[backend] = _create(backend)
    result = _databases[backend]
    if isinstance(result, unittest.SkipTest):
        raise result
    return result


def _create(backend):
    admin_url = sa.engine.make_url(ADMIN_URLS[backend])
    name = 'ia_test_%s' % uuid.uuid4().hex[:12]
    try:
        admin = sa.create_engine(admin_url, isolation_level='AUTOCOMMIT',
                                 poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE %s' % name)
    except Exception as e:
        return unittest.SkipTest(
            '%s is not reachable at %s (%s); set %s to test on it'
            % (backend, admin_url.render_as_string(hide_password=True),
               str(e).splitlines()[0], _ENV[backend]))
    atexit.register(_drop, admin, name)
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _drop(admin, name):
    force = ' WITH (FORCE)' if admin.dialect.name == 'postgresql' else ''
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS %s%s' % (name, force))


def empty(database):
    """Delete every row, children first, keeping the schema."""
    with database.writer() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(table.delete())
