"""The database engine (oslo.db) and transaction scopes for the stores."""

import contextlib
import contextvars
import fcntl
import functools
import os
import sqlite3
import threading
import urllib.parse

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
from oslo_log import log as logging
import sqlalchemy as sa

from interface_attach.db import outcome
from interface_attach import exception

LOG = logging.getLogger(__name__)

# Seconds a client is asked to wait when the database is unreachable.
RETRY_AFTER = 5

# A write the database aborted as a deadlock (InnoDB's detector or lock
# wait timeout, a Galera certification failure or brute-force abort, at a
# statement or at COMMIT, PostgreSQL's 40P01) runs again, up to 8 times,
# after random pauses that grow from 50 ms to 2 s: the aborted transaction
# left nothing behind, so running it again is the same as running it
# first. Most conflicts land on the first retry; the later, longer pauses
# (about 7 s in all at most) outlast a stall of the database, such as a
# Galera cluster's wait for a frozen node to be evicted, during which
# writes that queue behind each other's locks deadlock again and again
# (4 retries within half a second ran out there).
_retried = oslo_db_api.wrap_db_retry(
    max_retries=8, retry_interval=0.05, max_retry_interval=2,
    retry_on_deadlock=True)


def retried(method):
    """Run a method of an object with a ``_db`` again on a deadlock.

    And once more, at once, when a pooled connection was found dead (see
    :func:`once_more_if_stale`). Not when it runs inside a transaction that
    is already open: a deadlock aborted all of that transaction, and a
    dead connection lost it, so only the code that opened it can run
    again, and it is the one retried.

    :raises ServiceUnavailable: still a deadlock after the last retry. The
        database is too contended just now, not broken, and nothing of the
        write was kept: the client may try again (a 503, never a 500).
    """
    retried = _retried(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self._db.in_transaction():
            return method(self, *args, **kwargs)
        try:
            return once_more_if_stale(retried, self, *args, **kwargs)
        except db_exc.DBDeadlock:
            raise exception.ServiceUnavailable(service='database',
                                               retry_after=RETRY_AFTER)
    return wrapper


def once_more_if_stale(call, *args, **kwargs):
    """``call``, and once more if it met a dead pooled connection.

    The pool is not pinged on checkout (a round trip on every
    transaction): after a database restart or failover the first
    statement on each connection opened before fails instead. That
    transaction wrote nothing, and the pool is then refilled with new
    connections, so running the call again is safe and is what the ping
    did. A database still down fails the new connection: a 503.
    """
    try:
        return call(*args, **kwargs)
    except StaleConnection:
        return call(*args, **kwargs)


class StaleConnection(exception.ServiceUnavailable):
    """The connection was lost under a statement before COMMIT.

    The database rolled the transaction back: nothing of it was kept.
    """


class Database:
    """One engine per process, with reader and writer transactions.

    SQLite gets WAL (readers never block the writer), a busy timeout, and
    ``BEGIN IMMEDIATE`` for writers: a deferred transaction that reads and
    then writes can fail at once with "database is locked" when another
    process writes, which the busy timeout does not cover.

    ``create``: whether a SQLite file that does not exist may be created
    (``db sync``); otherwise a missing one is refused.
    """

    def __init__(self, database_conf, create=True):
        connection = database_conf.connection
        path = sa.engine.make_url(connection).database
        self._file = None
        if connection.startswith('sqlite') and path not in (
                None, '', ':memory:'):
            # Before the engine, whose first connection creates the file.
            self._file = DatabaseFile(path, create)
            if not create:
                # Not even oslo.db's first connection may create it, if it
                # is removed meanwhile.
                connection = 'sqlite:///file:%s?mode=rw&uri=true' % (
                    urllib.parse.quote(self._file.path))
        self.engine = _create_engine(connection, database_conf)
        self._sqlite = self.engine.dialect.name == 'sqlite'
        self._outcome_timeout = database_conf.outcome_timeout
        self._snapshot = contextvars.ContextVar('snapshot', default=None)
        self._writer = contextvars.ContextVar('writer', default=None)
        # The open writer's ``landed`` checks.
        self._landed = contextvars.ContextVar('landed')
        self._writers = None
        if self._file is not None:
            if create and not os.path.exists(self._file.path):
                # [database] max_retries 0: no first connection made it.
                self.engine.connect().close()
            self._file.opened()
            _configure_sqlite(self.engine, database_conf, self._file.path)
            self._writers = WriterQueue(
                self._file.path + '-writer',
                database_conf.sqlite_lock_timeout)
        # SQLite's reads are transactions: one snapshot, consistent. On
        # PostgreSQL and MariaDB (READ COMMITTED) every statement of a
        # transaction reads what is committed when it runs, as it would
        # alone: there, reads run in autocommit, without the round trips
        # of their BEGIN and COMMIT.
        self._reads = self.engine
        if not self._sqlite:
            # Its first connection was the writers' engine's to test.
            self._reads = _create_engine(
                connection, database_conf, max_retries=0,
                isolation_level='AUTOCOMMIT', skip_autocommit_rollback=True)
            for each in (self.engine, self._reads):
                self._configure_server(each, database_conf)

    @staticmethod
    def _configure_server(engine, database_conf):
        """A MySQL or PostgreSQL engine's timeouts, and its sessions noted."""
        if engine.dialect.name == 'mysql':
            _configure_mysql(engine, _handshake_timeout(
                sa.engine.make_url(database_conf.connection),
                database_conf.connection_parameters or ''),
                database_conf.statement_timeout or None)
        if engine.dialect.driver == 'psycopg' and (
                database_conf.statement_timeout):
            _configure_psycopg(engine, database_conf.statement_timeout)
        outcome.record_sessions(engine)
        # oslo.db's first connection, pooled, predates the listeners.
        engine.dispose()

    @contextlib.contextmanager
    def reader(self):
        """A connection to read on; inside ``snapshot()``, that one.

        On SQLite a read transaction; elsewhere in autocommit.
        """
        shared = self._snapshot.get()
        if shared is not None:
            yield shared
            return
        if self._sqlite:
            with _given_up_is_503(), self._transaction('BEGIN') as conn:
                yield conn
            return
        with _given_up_is_503(), _unavailable_is_503(), (
                self._reads.connect()) as conn, _lost_is_stale():
            yield conn

    @contextlib.contextmanager
    def snapshot(self):
        """One connection for every read inside.

        On SQLite, one read transaction: a GET's reads are consistent with
        each other, and cost one transaction instead of three. Elsewhere
        each statement reads what is committed (see ``_reads``).
        """
        with self.reader() as conn:
            token = self._snapshot.set(conn)
            try:
                yield
            finally:
                self._snapshot.reset(token)

    @contextlib.contextmanager
    def writer(self, savepoint=False, landed=None):
        """A write transaction; on SQLite it takes the write lock first.

        Inside another writer of this context it is that transaction, so
        several stores' writes can commit or fail as one. ``savepoint``:
        there, a failure inside undoes this block only (the caller tries
        again inside the same transaction).

        ``landed(conn)``: whether this block's rows are there, asked if the
        connection is lost during the COMMIT (see
        :mod:`interface_attach.db.outcome`); all of a transaction's blocks
        that ran to their end must say so. Found there, the write
        succeeded.

        :raises ServiceUnavailable: the COMMIT was lost and the write surely
            did not land: nothing was kept.
        :raises WriteOutcomeUnknown: the COMMIT was lost, and whether the
            write landed was not learned within [database] outcome_timeout
            (or no block said how to tell).
        """
        shared = self._writer.get()
        if shared is not None:
            if not savepoint:
                yield shared
            else:
                with _savepoint(shared):
                    yield shared
            if landed is not None:
                self._landed.get().append(landed)
            return
        queued = (self._writers.held() if self._writers is not None
                  else contextlib.nullcontext())
        checks = [] if landed is None else [landed]
        try:
            with queued, self._transaction('BEGIN IMMEDIATE') as conn:
                tokens = self._writer.set(conn), self._landed.set(checks)
                try:
                    yield conn
                finally:
                    self._writer.reset(tokens[0])
                    self._landed.reset(tokens[1])
        except outcome.OutcomeUnknown as unknown:
            if not checks:
                raise exception.WriteOutcomeUnknown(
                    retry_after=RETRY_AFTER) from unknown
            outcome.learn(self._reads, unknown, lambda conn: all(
                check(conn) for check in checks), self._outcome_timeout)

    def writing(self):
        """Whether a writer transaction is open in this context."""
        return self._writer.get() is not None

    def in_transaction(self):
        """Whether a writer or a snapshot is open in this context."""
        return self.writing() or self._snapshot.get() is not None

    @contextlib.contextmanager
    def _transaction(self, sqlite_begin):
        if self._file is not None:
            self._file.check()
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
                with _lost_is_stale():
                    yield conn
                if self._file is not None and sqlite_begin != 'BEGIN':
                    # Removed meanwhile: commit nothing into the unlinked
                    # file, where no one would ever read it.
                    self._file.check()
            except BaseException:
                conn.rollback()
                raise
            if self._sqlite:
                conn.commit()
                return
            session = conn.info.get(outcome.SESSION)
            with _lost_is_unknown(session):
                conn.commit()

    def dispose(self):
        self.engine.dispose()
        if self._reads is not self.engine:
            self._reads.dispose()
        if self._file is not None:
            self._file.close()


def _create_engine(connection, database_conf, max_retries=None,
                   **engine_args):
    """oslo.db's engine, with no ping on checkout (see once_more_if_stale).

    ``max_retries``: of its first connection, by default the option's (0:
    none is made). ``engine_args``: SQLAlchemy's, on top of oslo.db's.
    """
    def without_ping(url, **args):
        args.update(engine_args, pool_pre_ping=False)
        if url.get_driver_name() == 'pymysql':
            # PyMySQL sends ROLLBACK even with no transaction open: a
            # round trip each time the pool takes a connection back.
            args.setdefault('pool_reset_on_return', None)
        engine = sa.create_engine(url, **args)
        if url.get_driver_name() == 'pymysql':
            sa.event.listen(engine, 'reset', _pymysql_reset())
        return engine, engine

    return engines.create_engine(
        _with_mysql_charset(connection),
        connection_parameters=_connection_parameters(database_conf),
        mysql_sql_mode=database_conf.mysql_sql_mode,
        # Galera: wait for what other nodes committed before a read (1),
        # so a client reads its writes whichever node it reaches.
        mysql_wsrep_sync_wait=database_conf.mysql_wsrep_sync_wait,
        connection_recycle_time=database_conf.connection_recycle_time,
        max_pool_size=database_conf.max_pool_size,
        max_overflow=database_conf.max_overflow,
        pool_timeout=database_conf.pool_timeout,
        max_retries=(database_conf.max_retries if max_retries is None
                     else max_retries),
        retry_interval=database_conf.retry_interval,
        connection_debug=database_conf.connection_debug,
        sqlite_fk=True,
        # oslo.db yields to eventlet on every checkin; we run no
        # eventlet, and the sleep(0) was a tenth of a request.
        thread_checkin=False,
        _engine_target=without_ping)


def _pymysql_reset():
    """The pool's reset for PyMySQL: a ROLLBACK only if one is open.

    The server's last answer says whether a transaction is open; a
    connection given back after its COMMIT or ROLLBACK has none.
    """
    from pymysql.constants import SERVER_STATUS  # PyMySQL is optional.

    def reset(dbapi_connection, connection_record, reset_state):
        if dbapi_connection.server_status & (
                SERVER_STATUS.SERVER_STATUS_IN_TRANS):
            dbapi_connection.rollback()
    return reset


@contextlib.contextmanager
def _lost_is_stale():
    """A connection lost under a statement: :class:`StaleConnection`.

    Not at COMMIT (outside this block), where the write may have landed.
    """
    try:
        yield
    except (db_exc.DBError, sa.exc.DBAPIError) as e:
        # A statement the server left unanswered for the statement
        # timeout is no stale connection: running it again would wait as
        # long again.
        if not _unreachable(e) or _unanswered(e):
            raise
        raise StaleConnection(service='database',
                              retry_after=RETRY_AFTER) from e


@contextlib.contextmanager
def _lost_is_unknown(session):
    """A connection lost at COMMIT: ``OutcomeUnknown``, not a failure.

    The COMMIT may have reached the server and only its answer been lost.
    """
    try:
        yield
    except (db_exc.DBError, sa.exc.DBAPIError) as e:
        # A deadlock at COMMIT (Galera's certification) surely rolled back:
        # the retry's to handle.
        if isinstance(e, db_exc.DBDeadlock) or not (
                _unreachable(e) or _unanswered(e)):
            raise
        raise outcome.OutcomeUnknown(session, retry_after=RETRY_AFTER) from e


def _unanswered(error):
    """The connection was closed for [database] statement_timeout.

    PyMySQL's read timeout, or psycopg's bounded wait (see
    :func:`_configure_psycopg`).
    """
    inner = getattr(error, 'inner_exception', error)
    text = str(getattr(inner, 'orig', inner))
    return 'timed out' in text or _NO_ANSWER in text


@contextlib.contextmanager
def _savepoint(conn):
    """A savepoint, whose deadlock is raised as the deadlock.

    InnoDB (and Galera) abort the whole transaction on a deadlock, its
    savepoints with it: the ``ROLLBACK TO SAVEPOINT`` that follows fails
    (MariaDB's 1305, "SAVEPOINT ... does not exist"), and that error would
    hide the deadlock from the retry of the whole transaction.
    """
    nested = conn.begin_nested()
    try:
        yield
    except db_exc.DBDeadlock:
        try:
            nested.rollback()
        except (db_exc.DBError, sa.exc.DBAPIError):
            pass
        raise
    except BaseException:
        nested.rollback()
        raise
    nested.commit()


@contextlib.contextmanager
def _given_up_is_503():
    """A read the database gave up on is a 503: reads are not retried.

    oslo.db takes MySQL's lock wait timeout (1205) for a deadlock. A read
    gets it when its wait runs out: for a lock, or on Galera with
    wsrep_sync_wait for its node to catch up with the cluster (a node
    that has just rejoined, say).
    """
    try:
        yield
    except db_exc.DBDeadlock:
        raise exception.ServiceUnavailable(service='database',
                                           retry_after=RETRY_AFTER)


@contextlib.contextmanager
def _unavailable_is_503():
    """An unreachable database, or one silent too long, is a 503, not a 500.

    Silent too long: no answer within [database] statement_timeout.
    Once it is back the pool's new connections reach it (see
    once_more_if_stale): no restart is needed.
    """
    try:
        yield
    except (db_exc.DBError, sa.exc.DBAPIError, sqlite3.OperationalError) as e:
        # A deadlock (raised at COMMIT too, where it has no statement) is
        # the retry's to handle.
        if isinstance(e, db_exc.DBDeadlock) or not (
                _unreachable(e) or _locked(e) or _timed_out(e)
                or _not_in_cluster(e)):
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


def _not_in_cluster(error):
    """A Galera node outside the primary component refuses statements.

    MariaDB's 1047, "WSREP has not yet prepared node for application use":
    the node lost its cluster (or has not joined it yet), until it rejoins.
    """
    inner = getattr(error, 'inner_exception', error)
    args = getattr(getattr(inner, 'orig', inner), 'args', ())
    return bool(args) and args[0] == 1047


def _timed_out(error):
    """PostgreSQL cut the statement at [database] statement_timeout.

    (PyMySQL's read timeout closes the connection: that is unreachable.)
    """
    inner = getattr(error, 'inner_exception', error)
    return getattr(getattr(inner, 'orig', inner), 'sqlstate', None) == (
        '57014')


def _locked(error):
    """SQLite's lock stayed taken for all of the busy timeout.

    Raised by SQLite's driver itself where we begin on its connection.
    """
    inner = getattr(error, 'inner_exception', error)
    inner = getattr(inner, 'orig', inner)
    return isinstance(inner, sqlite3.OperationalError) and (
        'database is locked' in str(inner))


def _connection_parameters(database_conf):
    """The server drivers' timeouts, as URL query parameters.

    PyMySQL and psycopg both take ``connect_timeout``; SQLite none. A value
    in the URL or in oslo.db's connection_parameters wins. PyMySQL's
    bounds the TCP connect only: its handshake waits with ``read_timeout``,
    so that gets the same value, for the handshake only (see
    :func:`_configure_mysql`, which then gives it the statement timeout).
    The statement timeout is PyMySQL's ``write_timeout`` too and, on
    PostgreSQL, the server's ``statement_timeout`` and libpq's
    ``tcp_user_timeout`` (libpq has no read timeout: see
    :func:`_configure_psycopg`).
    """
    url = sa.engine.make_url(database_conf.connection)
    given = database_conf.connection_parameters or ''
    backend = url.get_backend_name()
    if backend not in ('mysql', 'postgresql'):
        return given

    def unset(name):
        return name not in url.query and name not in given
    added = []
    if unset('connect_timeout'):
        seconds = max(1, round(database_conf.connect_timeout))
        added.append(('connect_timeout', seconds))
        if _handshake_timeout(url, given):
            added.append(('read_timeout', seconds))
    statement = database_conf.statement_timeout
    if statement and url.get_driver_name() == 'pymysql' and unset(
            'write_timeout'):
        added.append(('write_timeout', max(1, round(statement))))
    if statement and backend == 'postgresql':
        milliseconds = max(1, round(statement * 1000))
        if unset('tcp_user_timeout'):
            added.append(('tcp_user_timeout', milliseconds))
        if unset('options'):
            added.append(('options', '-c statement_timeout=%d'
                          % milliseconds))
    added = urllib.parse.urlencode(added, quote_via=urllib.parse.quote)
    return '&'.join(part for part in (given, added) if part)


def _handshake_timeout(url, given):
    """Whether we give PyMySQL a read_timeout for its handshake only."""
    return url.get_driver_name() == 'pymysql' and not (
        'read_timeout' in url.query or 'read_timeout' in given)


class DatabaseFile:
    """The SQLite file the engine opened, which must stay that file.

    SQLite keeps writing into a file removed under it, where no one will
    read what it wrote, and opens a new empty one for the next process.
    So each transaction checks the path still names the file first seen.
    A descriptor of ours keeps that file's inode from being freed, and so
    its number from being given to a new file in its place.
    """

    # One descriptor per file per process, with its number of users:
    # closing a descriptor of a file drops every POSIX lock the process
    # holds on it (SQLite's included), so it is closed only once no engine
    # of the process uses that file.
    _held = {}
    _held_lock = threading.Lock()

    def __init__(self, path, create):
        self.path = os.path.abspath(path)
        self._identity = None
        self._reported = False
        # The writer queue's file, made beside the database when it is
        # opened: a file missing beside it was lost, not never made.
        self._marker = self.path + '-writer'
        if self._stat() is None:
            if os.path.exists(self._marker):
                raise exception.DatabaseLost(path=self.path,
                                             marker=self._marker)
            if not create:
                raise exception.DatabaseMissing(path=self.path)

    def opened(self):
        """Hold the file the engine opened (and made, if it had to)."""
        with self._held_lock:
            self._identity = self._stat()
            held = self._held.get(self._identity)
            if held is None:
                # Opened only if not held already: see _held.
                held = self._held[self._identity] = [
                    os.open(self.path, os.O_RDONLY | os.O_CLOEXEC), 0]
            held[1] += 1
        os.close(os.open(self._marker, os.O_RDONLY | os.O_CREAT, 0o644))

    def close(self):
        with self._held_lock:
            held = self._held.get(self._identity)
            if held is not None:
                held[1] -= 1
                if not held[1]:
                    os.close(held[0])
                    del self._held[self._identity]

    def _stat(self):
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino

    def check(self):
        """:raises ServiceUnavailable: the file is gone or was replaced."""
        identity = self._stat()
        if identity == self._identity:
            return
        if not self._reported:
            self._reported = True
            LOG.error('The database file %s was %s while in use: nothing '
                      'more is written; restore it and restart the service',
                      self.path, 'removed' if identity is None else
                      'replaced')
        raise exception.ServiceUnavailable(service='database',
                                           retry_after=RETRY_AFTER)


class WriterQueue:
    """SQLite writers of every process of the host, one at a time, queued.

    A writer that finds SQLite's write lock taken sleeps and retries (1, 2,
    5, 10, 15... ms), so under concurrent attaches some waited tens of
    milliseconds for a lock held a fraction of one. Writers now queue on
    a flock of a file next to the database, and the kernel wakes the next
    one when the lock is let go; SQLite's own lock still guards against
    writers that do not queue (another program, say).

    The threads of a process wait ``timeout`` seconds at most for each
    other, then answer 503. The flock is waited for without a timeout
    (polling it cost a third of the attach rate) but not forever: its
    holder is one writer per process of the host, each waiting at most
    ``timeout`` for SQLite's lock (its busy timeout) before it lets go.
    """

    def __init__(self, path, timeout):
        self._path = path
        self._timeout = timeout
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
        if not self._threads.acquire(timeout=self._timeout):
            raise exception.ServiceUnavailable(service='database',
                                               retry_after=RETRY_AFTER)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


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


def _configure_mysql(engine, handshake_timeout, statement_timeout):
    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        if handshake_timeout:
            # Connected: statements wait for their answer as long as the
            # statement timeout says, however short the connect timeout
            # (PyMySQL sets the socket's timeout again on its next read).
            # A server that stopped keeps its connections open: without
            # this, a request would wait for it as long as it is stopped.
            dbapi_connection._read_timeout = statement_timeout
        # Each statement reads what is committed, as on PostgreSQL. Under
        # InnoDB's default (REPEATABLE READ) a transaction keeps reading
        # its first snapshot, so an attach that lost an address to another
        # worker would pick the same one again on every try.
        with dbapi_connection.cursor() as cursor:
            cursor.execute('SET SESSION TRANSACTION ISOLATION LEVEL '
                           'READ COMMITTED')


_NO_ANSWER = 'no answer from the database server'


def _configure_psycopg(engine, statement_timeout):
    """Bound every wait for a PostgreSQL server's answer, client side.

    libpq has no read timeout, and a stopped server cannot enforce its own
    statement_timeout: a request would wait as long as it is stopped.
    The bound is a little longer than the server's statement_timeout, so
    that a server that answers cuts a slow statement itself and keeps the
    connection.
    """
    import psycopg

    bound = statement_timeout + 2
    # psycopg's (internal) timeout of its wait functions; an
    # OperationalError, of which it is a kind, if it is ever renamed.
    timed_out = getattr(psycopg.errors, '_WaitTimeout',
                        psycopg.OperationalError)

    class BoundedConnection(psycopg.Connection):

        def wait(self, gen, *args, timeout=None, **kwargs):
            if timeout is not None:
                return super().wait(gen, *args, timeout=timeout, **kwargs)
            try:
                return super().wait(gen, *args, timeout=bound, **kwargs)
            except timed_out as e:
                if self.closed or self.broken:
                    raise
                # Timed out with the statement still in flight: the
                # connection cannot be used again. Closed, it is a lost
                # connection to SQLAlchemy (a 503, and a new one next).
                self.close()
                raise psycopg.OperationalError(
                    '%s in %g s' % (_NO_ANSWER, bound)) from e

    @sa.event.listens_for(engine, 'do_connect')
    def _bounded(dialect, connection_record, cargs, cparams):
        return BoundedConnection.connect(*cargs, **cparams)


def _configure_sqlite(engine, database_conf, path):
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

    @sa.event.listens_for(engine, 'do_connect')
    def _open_existing(dialect, connection_record, cargs, cparams):
        # SQLite creates a missing file on connect: a new empty database
        # in place of one removed, which a restart would then take for
        # ours. The file exists by now; never create another.
        cargs[:] = ['file:%s?mode=rw' % urllib.parse.quote(path)]
        cparams['uri'] = True

    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.execute('PRAGMA busy_timeout=%d' % (
            database_conf.sqlite_lock_timeout * 1000))
        # Switching to WAL takes the write lock even when the file is in
        # WAL already (it stays so): only a new file needs it, and another
        # program's lock must not fail every new connection.
        # fetchall: a statement left unfinished keeps a read transaction
        # open, and the connection would never see later commits.
        (mode,), = dbapi_connection.execute('PRAGMA journal_mode').fetchall()
        if mode.lower() != 'wal':
            dbapi_connection.execute('PRAGMA journal_mode=WAL')
        # With WAL, NORMAL never corrupts the database; it skips the
        # fsync of every commit (a power cut may lose the last ones).
        dbapi_connection.execute('PRAGMA synchronous=NORMAL')
