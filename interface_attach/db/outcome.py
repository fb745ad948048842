"""Whether a write whose COMMIT lost its connection landed: found out.

A connection lost while its COMMIT is in flight (a server killed, a node
frozen past the statement timeout, a network cut) leaves the write's
outcome unknown: the server may have committed it and lost only the
answer. The service then asks the database on a new connection. First
it makes the outcome final: the session the COMMIT was sent on, if it
still exists on the same server, is ended (``KILL``,
``pg_terminate_backend``) and waited for, so that a COMMIT still in the
network cannot land after the look. Then the write's own rows say whether
it landed. A new connection that reaches another server (a Galera node
behind a proxy, say) cannot end that session: there a write found landed
is a success, one not found stays unknown.
"""

import collections
import time

from oslo_db import exception as db_exc
from oslo_log import log as logging
import sqlalchemy as sa

from interface_attach import exception

LOG = logging.getLogger(__name__)

# Key of a DBAPI connection's Session in SQLAlchemy's connection info.
SESSION = 'interface_attach_session'

# Pause between two looks while the outcome is not yet known.
_PAUSE = 0.25


class Session(collections.namedtuple('Session', 'server started id since')):
    """A server session: on which server instance, and which session.

    ``server``: its address as the server sees it; ``started``: when that
    server started (epoch seconds), so a restarted one is another
    instance; ``id``, ``since``: the session's id (MySQL's thread id,
    PostgreSQL's backend pid) and, where ids are reused (PostgreSQL), when
    the session began.
    """

    def same_server(self, other):
        # MySQL's start time is computed from its uptime, to the second.
        return self.server == other.server and abs(
            self.started - other.started) < 2


# The session and its server, one round trip per new connection.
_MYSQL_SESSION = (
    "SELECT @@hostname, @@port, UNIX_TIMESTAMP() - VARIABLE_VALUE, "
    "CONNECTION_ID(), NULL FROM information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME = 'UPTIME'")
_POSTGRESQL_SESSION = (
    "SELECT inet_server_addr()::text, inet_server_port(), "
    "extract(epoch FROM pg_postmaster_start_time())::float8, pid, "
    "extract(epoch FROM backend_start)::float8 FROM pg_stat_activity "
    "WHERE pid = pg_backend_pid()")


def record_sessions(engine):
    """Note each new connection's Session, to end it if its COMMIT is lost."""
    query = {'mysql': _MYSQL_SESSION,
             'postgresql': _POSTGRESQL_SESSION}[engine.dialect.name]

    @sa.event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, connection_record):
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(query)
                row = cursor.fetchone()
        except Exception as e:
            # A server without these views (MySQL 8 has no GLOBAL_STATUS)
            # still serves: its lost COMMITs stay unknown.
            LOG.debug('No session recorded: %s', e)
            row = None
        # Not left in a transaction by the look (the drivers begin one).
        dbapi_connection.rollback()
        if row is not None:
            host, port, started, session_id, since = row
            connection_record.info[SESSION] = Session(
                (host, port), float(started), session_id,
                None if since is None else float(since))


class OutcomeUnknown(exception.ServiceUnavailable):
    """The connection was lost during COMMIT: the write may have landed.

    ``session``: the Session the COMMIT was sent on (None if not known).
    """

    def __init__(self, session, retry_after):
        super().__init__(service='database', retry_after=retry_after)
        self.session = session


def learn(engine, unknown, landed, budget):
    """Return if the write of ``unknown`` landed, raise if it did not.

    ``landed(conn)``: whether the write's rows are there. Asked on new
    connections of ``engine`` until the answer is sure, for ``budget``
    seconds at most.

    :raises ServiceUnavailable: surely not landed: nothing of the write was
        kept, and the client may simply try again.
    :raises WriteOutcomeUnknown: still unknown when the budget ran out.
    """
    deadline = time.monotonic() + budget
    while True:
        try:
            with engine.connect() as conn:
                final = _ended(conn, unknown.session)
                if landed(conn):
                    LOG.warning('A write whose COMMIT lost its connection '
                                'had landed: answered as done')
                    return
                if final:
                    LOG.warning('A write whose COMMIT lost its connection '
                                'had not landed: nothing was kept')
                    raise exception.ServiceUnavailable(
                        service='database', retry_after=unknown.retry_after)
        except (db_exc.DBError, sa.exc.DBAPIError) as e:
            # Not reachable yet, or the look itself failed: look again.
            LOG.debug('Looking for a write whose COMMIT was lost: %s', e)
        if time.monotonic() + _PAUSE >= deadline:
            LOG.error('A write whose COMMIT lost its connection: whether it '
                      'landed is unknown')
            raise exception.WriteOutcomeUnknown(
                retry_after=unknown.retry_after)
        time.sleep(_PAUSE)


def _ended(conn, session):
    """Whether ``session`` is over, after ending it if it is on this server.

    Over, its transaction is final: committed or rolled back. A server
    restarted since is another instance, where it cannot be running.
    """
    here = conn.info.get(SESSION)
    if session is None or here is None:
        return False
    if here.server != session.server:
        return False
    if not here.same_server(session):
        return True  # Restarted since.
    if conn.dialect.name == 'mysql':
        try:
            conn.exec_driver_sql('KILL %d' % session.id)
        except (db_exc.DBError, sa.exc.DBAPIError) as e:
            # 1094: no such session (any more).
            if _mysql_code(e) != 1094:
                raise
        return not conn.execute(sa.text(
            'SELECT COUNT(*) FROM information_schema.PROCESSLIST '
            'WHERE ID = :id'), {'id': session.id}).scalar()
    alive = sa.text(
        'SELECT pid FROM pg_stat_activity WHERE pid = :id AND '
        'abs(extract(epoch FROM backend_start)::float8 - :since) < 0.001')
    params = {'id': session.id, 'since': session.since}
    if conn.execute(alive, params).first() is None:
        return True
    conn.execute(sa.text('SELECT pg_terminate_backend(:id)'), params)
    return conn.execute(alive, params).first() is None


def _mysql_code(error):
    inner = getattr(error, 'inner_exception', error)
    args = getattr(getattr(inner, 'orig', inner), 'args', ())
    return args[0] if args else None
