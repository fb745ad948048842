"""Our options beside oslo.db's in [database]: how long to wait for it."""

from oslo_config import cfg

# oslo.db's own group: these options are about the same connection.
database_group = 'database'

# Attempts and pause of oslo.db's first connection, our defaults: with a
# connect timeout of 3 s, an unreachable server fails a start or a CLI call
# within 3 x (3 + 1) = 12 s, where oslo.db's own (10 x 10 s) take 100 s.
MAX_RETRIES = 3
RETRY_INTERVAL = 1

database_opts = [
    cfg.FloatOpt(
        'connect_timeout', default=3, min=0.1,
        help='Seconds to wait for a MySQL/MariaDB or PostgreSQL server to '
             'accept a connection and greet (not for the statements '
             'after). With [database] max_retries and retry_interval it '
             'bounds how long start-up and interface-attach-manage wait '
             'for an unreachable or hung server before they fail.'),
    cfg.FloatOpt(
        'statement_timeout', default=10, min=0,
        help='Seconds a statement may wait for a MySQL/MariaDB or '
             'PostgreSQL server\'s answer, lock waits included, before its '
             'request answers 503 with Retry-After (0: no limit). A frozen '
             'or overloaded server then holds no request for longer than '
             'this (MySQL: PyMySQL\'s read and write timeouts, which also '
             'catch a server that stopped without closing its connections; '
             'PostgreSQL: the server\'s statement_timeout, each of '
             'psycopg\'s waits for the server bounded 2 s beyond it, and a '
             'tcp_user_timeout for a host that no longer acknowledges). '
             'Keep it below the clients\' timeouts; raise it for '
             'interface-attach-manage db sync on a large database. A value '
             'in the URL or connection_parameters wins.'),
    cfg.FloatOpt(
        'outcome_timeout', default=2, min=0,
        help='Seconds to find out, on new connections, whether a write '
             'whose connection to a MySQL/MariaDB or PostgreSQL server was '
             'lost during its COMMIT was saved. Saved, the request '
             'succeeds; surely not saved, it answers 503 and nothing was '
             'kept; not learned within this time, it answers 503 saying '
             'the outcome is unknown. With several Galera nodes behind one '
             'address it also bounds the wait for the other nodes to show '
             'a write.'),
    cfg.FloatOpt(
        'sqlite_lock_timeout', default=5, min=0.1,
        help='Seconds a write waits for SQLite\'s write lock (held by '
             'another program, say) before it answers 503 with '
             'Retry-After. Queued behind this host\'s other writers, a '
             'request waits at most (workers + 1) times this.'),
]


def register_opts(conf):
    conf.register_opts(database_opts, group=database_group)


def list_opts():
    return {database_group: database_opts}
