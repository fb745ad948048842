"""A bare WSGI app for tools/benchmark.py: the floor the API is compared to.

It answers every request with one fixed JSON body of ``--body-size`` bytes
(the size of an os-interface show response), and is served exactly as
``interface-attach-api`` serves the real pipeline: the same gunicorn
``BaseApplication`` subclass and the same options (our buffering threaded
workers, preload, access log on stdout), without the per-worker recovery
thread::

  python tools/bare_app.py --port 8899 --workers 2 --body-size 279
"""

import argparse
import json

from interface_attach.cmd import api
from interface_attach import conf as ia_conf


def make_app(size):
    """A WSGI app answering 200 with a JSON body of exactly ``size`` bytes."""
    skeleton = json.dumps({'interfaceAttachment': {'pad': ''}})
    body = json.dumps({'interfaceAttachment': {
        'pad': 'x' * max(0, size - len(skeleton))}}).encode()
    headers = [('Content-Type', 'application/json'),
               ('Content-Length', str(len(body)))]

    def application(environ, start_response):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        if length:
            environ['wsgi.input'].read(length)
        start_response('200 OK', headers)
        return [body]

    return application


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--body-size', type=int, default=279)
    args = parser.parse_args(argv)
    # The service's defaults, from no configuration file.
    conf = ia_conf.new_conf([], config_files=[])
    conf.set_override('bind_host', args.host, group='api')
    conf.set_override('bind_port', args.port, group='api')
    conf.set_override('workers', args.workers, group='api')
    options = api.server_options(conf)
    # post_fork starts the service's recovery thread: nothing to recover.
    del options['post_fork']
    options['proc_name'] = 'interface-attach-bare'
    api.Server(make_app(args.body_size), options).run()


if __name__ == '__main__':
    main()
