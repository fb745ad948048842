"""The database engine (oslo.db) and transaction scopes for the stores."""

import contextlib
import contextvars
import fcntl
import functools
import os
import threading

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
import sqlalchemy as sa

from interface_attach import exception

# Seconds a client is asked to wait when the database is unreachable.
RETRY_AFTER = 5

# A write the database aborted as a deadlock (InnoDB's detector, a Galera
# certification failure, PostgreSQL's 40P01) runs again, up to 4 times,
# after a short random pause: the aborted transaction left nothing behind,
# so running it again is the same as running it first.
_retried = oslo_db_api.wrap_db_retry(
    max_retries=4, retry_interval=0.05, max_retry_interval=0.5,
    retry_on_deadlock=True)


def retry_on_deadlock(method):
    """Run a method of an object with a ``_db`` again on a deadlock.

    Not when it runs inside a writer transaction that is already open: the
    deadlock aborted all of that transaction, so only the method that
    opened it can run again, and it is the one retried.
    """
    retried = _retried(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._db.writing():
            return method(self, *args, **kwargs)
        return retried(self, *args, **kwargs)
    return wrapper


class Database:
    """One engine per process, with reader and writer transactions.

    SQLite gets WAL (readers never block the writer), a busy timeout, and
    ``BEGIN IMMEDIATE`` for writers: a deferred transaction that reads and
    then writes can fail at once with "database is locked" when another
    process writes, which the busy timeout does not cover.
    """

    def __init__(self, database_conf):
        self.engine = engines.create_engine(
            _with_mysql_charset(database_conf.connection),
            mysql_sql_mode=database_conf.mysql_sql_mode,
            connection_recycle_time=database_conf.connection_recycle_time,
            max_pool_size=database_conf.max_pool_size,
            max_overflow=database_conf.max_overflow,
            pool_timeout=database_conf.pool_timeout,
            max_retries=database_conf.max_retries,
            retry_interval=database_conf.retry_interval,
            connection_debug=database_conf.connection_debug,
            sqlite_fk=True,
            # oslo.db yields to eventlet on every checkin; we run no
            # eventlet, and the sleep(0) was a tenth of a request.
            thread_checkin=False)
        self._sqlite = self.engine.dialect.name == 'sqlite'
        self._snapshot = contextvars.ContextVar('snapshot', default=None)
        self._writer = contextvars.ContextVar('writer', default=None)
        self._writers = None
        if self._sqlite and self.engine.url.database not in (None, '',
                                                             ':memory:'):
            _configure_sqlite(self.engine, database_conf)
            self._writers = WriterQueue(self.engine.url.database + '-writer')
        if self.engine.dialect.name == 'mysql':
            _configure_mysql(self.engine)

    @contextlib.contextmanager
    def reader(self):
        """A read transaction; inside ``snapshot()``, that one."""
        shared = self._snapshot.get()
        if shared is not None:
            yield shared
            return
        with self._transaction('BEGIN') as conn:
            yield conn

    @contextlib.contextmanager
    def snapshot(self):
        """One read transaction for every read inside.

        A GET's reads are then consistent with each other, and cost one
        transaction instead of three.
        """
        with self.reader() as conn:
            token = self._snapshot.set(conn)
            try:
                yield
            finally:
                self._snapshot.reset(token)

    @contextlib.contextmanager
    def writer(self, savepoint=False):
        """A write transaction; on SQLite it takes the write lock first.

        Inside another writer of this context it is that transaction, so
        several stores' writes can commit or fail as one. ``savepoint``:
        there, a failure inside undoes this block only (the caller tries
        again inside the same transaction).
        """
        shared = self._writer.get()
        if shared is not None:
            with shared.begin_nested() if savepoint else (
                    contextlib.nullcontext()):
                yield shared
            return
        queued = (self._writers.held() if self._writers is not None
                  else contextlib.nullcontext())
        with queued, self._transaction('BEGIN IMMEDIATE') as conn:
            token = self._writer.set(conn)
            try:
                yield conn
            finally:
                self._writer.reset(token)

    def writing(self):
        """Whether a writer transaction is open in this context."""
        return self._writer.get() is not None

    @contextlib.contextmanager
    def _transaction(self, sqlite_begin):
        with _unavailable_is_503(), self.engine.connect() as conn:
            if self._sqlite:
                # oslo.db's "begin" listener would run a plain BEGIN through
                # the whole statement path (a tenth of a show) unless the
                # connection says a transaction is open: say so, and begin
                # on the driver's connection.
                conn.info['in_transaction'] = True
                conn.connection.dbapi_connection.execute(sqlite_begin)
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def dispose(self):
        self.engine.dispose()


@contextlib.contextmanager
def _unavailable_is_503():
    """A database that cannot be reached is a 503, not a 500.

    oslo.db pings pooled connections on checkout, so once the database is
    back the next transaction reconnects: no restart is needed.
    """
    try:
        yield
    except (db_exc.DBError, sa.exc.DBAPIError) as e:
        if not _unreachable(e):
            raise
        raise exception.ServiceUnavailable(service='database',
                                           retry_after=RETRY_AFTER)


def _unreachable(error):
    """A lost or refused connection, whatever the driver's wording.

    oslo.db recognises the usual messages (DBConnectionError); SQLAlchemy
    itself marks a connection lost mid-statement as invalidated, and a
    failed connect as an error with no statement.
    """
    if isinstance(error, db_exc.DBConnectionError):
        return True
    inner = getattr(error, 'inner_exception', error)
    return isinstance(inner, sa.exc.DBAPIError) and (
        inner.connection_invalidated or inner.statement is None)


class WriterQueue:
    """SQLite writers of every process of the host, one at a time, queued.

    A writer that finds SQLite's write lock taken sleeps and retries (1, 2,
    5, 10, 15... ms), so under concurrent attaches some waited tens of
    milliseconds for a lock held a fraction of one. Writers now queue on
    a flock of a file next to the database, and the kernel wakes the next
    one when the lock is let go; SQLite's own lock still guards against
    writers that do not queue (another program, say).
    """

    def __init__(self, path):
        self._path = path
        self._pid = None

    @contextlib.contextmanager
    def held(self):
        if self._pid != os.getpid():
            # A descriptor inherited across fork shares its flock with the
            # parent, and a lock may have been held at the fork: each
            # process has its own.
            self._threads = threading.Lock()
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT
                               | os.O_CLOEXEC, 0o644)
            self._pid = os.getpid()
        with self._threads:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def _with_mysql_charset(connection):
    """``connection``, asking MySQL for utf8mb4 unless it names a charset.

    oslo.db asks for "utf8", MySQL's three-byte utf8mb3: a character
    beyond the BMP (an emoji in a tag) would be refused, a 500.
    """
    url = sa.engine.make_url(connection)
    if url.get_backend_name() != 'mysql' or 'charset' in url.query:
        return connection
    return url.update_query_dict({'charset': 'utf8mb4'}).render_as_string(
        hide_password=False)


def _configure_mysql(engine):
    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        # Each statement reads what is committed, as on PostgreSQL. Under
        # InnoDB's default (REPEATABLE READ) a transaction keeps reading
        # its first snapshot, so an attach that lost an address to another
        # worker would pick the same one again on every try.
        with dbapi_connection.cursor() as cursor:
            cursor.execute('SET SESSION TRANSACTION ISOLATION LEVEL '
                           'READ COMMITTED')


def _configure_sqlite(engine, database_conf):
    # oslo.db gives a file database no pool, so every transaction opened
    # and closed a connection (and ran its PRAGMAs): about a third of a
    # request. Pool them, keeping oslo.db's connect listeners.
    # Last in, first out: the connection used last has the warmest page
    # cache (SQLite keeps one per connection), where a queue would hand
    # out each one in turn.
    engine.pool = sa.pool.QueuePool(
        engine.pool._creator, pool_size=database_conf.max_pool_size or 5,
        max_overflow=database_conf.max_overflow or 10, use_lifo=True,
        _dispatch=engine.pool.dispatch)

    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.execute('PRAGMA journal_mode=WAL')
        dbapi_connection.execute('PRAGMA busy_timeout=30000')
        # With WAL, NORMAL never corrupts the database; it skips the
        # fsync of every commit (a power cut may lose the last ones).
        dbapi_connection.execute('PRAGMA synchronous=NORMAL')
