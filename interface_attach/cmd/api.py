"""interface-attach-api: serve the paste pipeline with gunicorn workers.

The master loads and checks the application once, then forks ``[api]
workers`` processes bound to ``[api] bind_host``:``bind_port``. SIGTERM
stops accepting connections, lets requests in flight finish (up to
``[api] graceful_timeout`` seconds) and exits 0.
"""

import signal
import sys

from gunicorn.app import base as gunicorn_base

from interface_attach.api import paste
from interface_attach import wsgi


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
        # serve on until graceful_timeout ran out.
        signal.signal(signal.SIGTERM, worker.handle_exit)
        # In each worker, not in the master: the master forks again when a
        # worker dies, and forking a process with threads is unsafe.
        wsgi.start_background(conf)

    return {
        'post_fork': post_fork,
        'bind': '%s:%d' % (conf.api.bind_host, conf.api.bind_port),
        'workers': conf.api.workers,
        'graceful_timeout': conf.api.graceful_timeout,
        'preload_app': True,
        'proc_name': 'interface-attach-api',
        'control_socket_disable': True,
        'accesslog': '-',
        # The access log never shows headers, so no token reaches it.
        'access_log_format': '%(h)s "%(r)s" %(s)s %(b)s %(M)sms',
    }


def main(argv=None):
    conf = paste.new_conf(sys.argv[1:] if argv is None else argv)
    wsgi.prepare(conf)
    app = wsgi.load_app(conf)
    Server(app, server_options(conf)).run()


if __name__ == '__main__':
    main()
