"""interface-attach-api: serve the paste pipeline with gunicorn workers.

The master loads and checks the application once, then forks ``[api]
workers`` processes bound to ``[api] bind_host``:``bind_port``, each
receiving requests in its event loop and serving whole ones on ``[api]
threads`` threads (see interface_attach/wsgi/worker.py). SIGTERM
stops accepting connections, lets requests in flight finish (up to
``[api] graceful_timeout`` seconds) and exits 0.
"""

import signal
import sys

from gunicorn.app import base as gunicorn_base
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_middleware import opts as middleware_opts
import sqlalchemy as sa

from interface_attach import cmd
from interface_attach import conf as ia_conf
from interface_attach import wsgi
from interface_attach.wsgi import worker

LOG = logging.getLogger(__name__)
PROG = 'interface-attach-api'


class Server(gunicorn_base.BaseApplication):

    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            # Only settings this gunicorn knows (control_socket is new).
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.application


def server_options(conf):
    def post_fork(server, worker):
        # Until the worker sets up its signals, a SIGTERM would go to the
        # master's handler the fork copied, and be lost: the worker would
        # serve on until graceful_timeout ran out. Its own handler needs
        # what it sets up first, so until then a SIGTERM only marks it
        # stopping: it then exits without serving.
        signal.signal(signal.SIGTERM, lambda signum, frame: setattr(
            worker, 'alive', False))
        # In each worker, not in the master: the master forks again when a
        # worker dies, and forking a process with threads is unsafe.
        wsgi.start_background(conf)

    return {
        'post_fork': post_fork,
        'bind': '%s:%d' % (conf.api.bind_host, conf.api.bind_port),
        'workers': conf.api.workers,
        'worker_class': worker.worker_class(conf.api.client_request_timeout,
                                            max_request_body_size(conf)),
        'threads': conf.api.threads,
        'keepalive': conf.api.keepalive,
        # gunicorn trusts 127.0.0.1 by default: a local client could then
        # set SCRIPT_NAME, PATH_INFO and the scheme.
        'forwarded_allow_ips': ','.join(conf.api.forwarded_allow_ips),
        'graceful_timeout': conf.api.graceful_timeout,
        'preload_app': True,
        'proc_name': PROG,
        'control_socket_disable': True,
        'accesslog': '-',
        # The access log never shows headers, so no token reaches it.
        'access_log_format': '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
    }


def max_request_body_size(conf):
    """sizelimit's limit: no body larger is worth receiving whole."""
    for group, opts in middleware_opts.list_opts_sizelimit():
        conf.register_opts(opts, group=group)
    return conf.oslo_middleware.max_request_body_size


def main(argv=None):
    try:
        conf = ia_conf.new_conf(sys.argv[1:] if argv is None else argv)
    except cfg.Error as e:
        sys.exit(_failed(None, e))
    try:
        wsgi.prepare(conf)
        app = wsgi.load_app(conf)
    except Exception as e:
        # A mistake in the configuration, or a database that cannot be
        # opened: what to fix, in one line, and no server started.
        LOG.debug('Start-up failed', exc_info=True)
        sys.exit(_failed(conf, e))
    Server(app, server_options(conf)).run()


def _failed(conf, error):
    """The one line for a failed start, logged if there is a log file."""
    if isinstance(error, (db_exc.DBError, sa.exc.SQLAlchemyError)):
        message = 'cannot open the database %s: %s' % (
            cmd.database_url(conf), cmd.first_line(error))
    else:
        message = cmd.first_line(error)
    if conf is not None and (conf.log_file or conf.log_dir):
        LOG.critical('Cannot start: %s', message)
    return '%s: error: %s' % (PROG, message)


if __name__ == '__main__':
    main()
