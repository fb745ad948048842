"""Database round trips, statements and transactions per request, counted.

Counted, not timed, so the machine's load does not move them. The shipped
paste pipeline runs in this process, on the benchmark's database, one
request at a time (no conflicts, so no retries), after a warm-up that
opens the pooled connections:

- round trips: on PostgreSQL and MariaDB, what the client sent to the
  server before it waited for an answer, counted by a TCP proxy between
  the two (so the driver's own BEGIN, pings and pool resets count); on
  SQLite, the statements SQLite ran (its trace callback), BEGIN and
  COMMIT included;
- statements: the SQL statements SQLAlchemy executed;
- transactions: the COMMITs and ROLLBACKs SQLAlchemy issued (a read in
  autocommit has none).
"""

import collections
import configparser
import contextlib
import json
import os
import select
import socket
import tempfile
import threading

import sqlalchemy as sa
import webob


class Counts:

    def __init__(self):
        self.round_trips = self.statements = self.transactions = 0
        self._lock = threading.Lock()

    def add(self, name):
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def snapshot(self):
        return (self.round_trips, self.statements, self.transactions)


class CountingProxy:
    """A proxy on 127.0.0.1 to a database server, counting round trips.

    A round trip starts with the client's first bytes after the server's
    answer (or on a new connection).
    """

    def __init__(self, target, counts):
        self._target = target
        self._counts = counts
        self._listener = socket.socket()
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            threading.Thread(target=self._pipe, args=(client, server),
                             daemon=True).start()

    def _pipe(self, client, server):
        answered = True
        with client, server:
            while True:
                readable, _, _ = select.select([client, server], [], [])
                for sock in readable:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    if sock is client:
                        if answered:
                            self._counts.add('round_trips')
                        answered = False
                        server.sendall(data)
                    else:
                        answered = True
                        client.sendall(data)


@contextlib.contextmanager
def counting(counts, sqlite):
    """SQLAlchemy's statements and transactions of every engine, counted."""
    def statement(*args):
        counts.add('statements')

    def transaction(conn):
        # Not the end of a read in autocommit: it had no transaction.
        # (SQLite's driver is in autocommit: the service begins itself.)
        if sqlite or not conn.dialect.detect_autocommit_setting(
                conn.connection.dbapi_connection):
            counts.add('transactions')

    def traced(dbapi_connection, record):
        dbapi_connection.set_trace_callback(
            lambda sql: counts.add('round_trips'))

    listeners = [(sa.engine.Engine, 'before_cursor_execute', statement),
                 (sa.engine.Engine, 'commit', transaction),
                 (sa.engine.Engine, 'rollback', transaction)]
    if sqlite:
        listeners.append((sa.pool.Pool, 'connect', traced))
    for target, name, fn in listeners:
        sa.event.listen(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in listeners:
            sa.event.remove(target, name, fn)


# One request to count; ``follow_up``: the kind of the detach of the port
# its answer names (an attach's), run and counted after it.
Request = collections.namedtuple(
    'Request', 'kind method path body expected follow_up')


def per_request(config_file, url, token, requests, repeat=20, warmup=3):
    """{kind: (round trips, statements, transactions) per request}."""
    from interface_attach import conf as ia_conf
    from interface_attach import wsgi

    counts = Counts()
    target = sa.engine.make_url(url)
    sqlite = target.get_backend_name() == 'sqlite'
    proxy = None
    if not sqlite:
        proxy = CountingProxy((target.host, target.port), counts)
        url = target.set(host='127.0.0.1', port=proxy.port).render_as_string(
            hide_password=False)
    totals = collections.defaultdict(lambda: [0, 0, 0])
    try:
        with counting(counts, sqlite):
            app = wsgi.load_app(ia_conf.new_conf(
                ['--config-file', _with_connection(config_file, url)]))
            for request in requests:
                for i in range(warmup + repeat):
                    for kind, before, after in _run(app, counts, token,
                                                    request):
                        if i >= warmup:
                            for j, (a, b) in enumerate(zip(before, after)):
                                totals[kind][j] += b - a
    finally:
        if proxy is not None:
            proxy.close()
    return {kind: tuple(value / repeat for value in total)
            for kind, total in totals.items()}


def _with_connection(config_file, url):
    """A copy of ``config_file`` beside it, on database ``url``.

    A new file each time: the paste pipeline loads (and keeps) the
    configuration of the file it is given.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_file)
    parser.set('database', 'connection', url)
    fd, path = tempfile.mkstemp(suffix='.conf',
                                dir=os.path.dirname(config_file))
    with os.fdopen(fd, 'w') as f:
        parser.write(f)
    return path


def _run(app, counts, token, request):
    """[(kind, counts before, counts after)] of a request and follow-up."""
    before = counts.snapshot()
    response = _call(app, request.method, request.path, request.body, token)
    done = [(request.kind, before, counts.snapshot())]
    if response.status_int != request.expected:
        raise RuntimeError('%s %s answered %s: %s' % (
            request.method, request.path, response.status, response.text))
    if request.follow_up is not None:
        port = json.loads(response.body)['interfaceAttachment']['port_id']
        before = counts.snapshot()
        response = _call(app, 'DELETE', '%s/%s' % (request.path, port), None,
                         token)
        done.append((request.follow_up, before, counts.snapshot()))
        if response.status_int != 202:
            raise RuntimeError('detach answered %s' % response.status)
    return done


def _call(app, method, path, body, token):
    request = webob.Request.blank(path, method=method, headers={
        'Accept': 'application/json', 'X-Auth-Token': token})
    if body is not None:
        request.body = body.encode()
        request.content_type = 'application/json'
    return request.get_response(app)
