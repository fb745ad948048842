"""Options of the API service: serving, pipeline and authentication."""

from oslo_config import cfg

api_group = cfg.OptGroup(
    'api',
    title='API options',
    help='How interface-attach-api serves the os-interface API.')

api_opts = [
    cfg.HostAddressOpt(
        'bind_host', default='127.0.0.1',
        help='Address the API server listens on.'),
    cfg.PortOpt(
        'bind_port', default=8774,
        help='Port the API server listens on (8774, as Nova\'s compute API).'),
    cfg.IntOpt(
        'workers', default=2, min=1,
        help='Number of API worker processes.'),
    cfg.IntOpt(
        'threads', default=1, min=1,
        help='Threads per worker process serving reads (GET, HEAD), and '
             'as many serving writes, so that a write waiting for the '
             'database never holds up a read. Each worker '
             'receives requests in its event loop, so a thread is only '
             'taken by a request received whole. On SQLite more threads '
             'only share the worker\'s CPU (and its GIL); where requests '
             'wait on the network (Neutron, a remote database) more let a '
             'worker serve others meanwhile.'),
    cfg.FloatOpt(
        'client_request_timeout', default=10, min=0.1,
        help='Seconds a client has to send a whole request (head and '
             'body), from the connection (or its first byte, on a kept-'
             'alive connection); after that the connection is closed (408 '
             'if part of a request came). Idle and slow clients hold no '
             'thread meanwhile.'),
    cfg.IntOpt(
        'keepalive', default=2, min=0,
        help='Seconds an idle kept-alive connection stays open for its '
             'next request (0: one request per connection).'),
    cfg.ListOpt(
        'forwarded_allow_ips', default=[],
        help='Addresses of front-end proxies trusted to set the '
             'X-Forwarded-Proto scheme and the SCRIPT_NAME and PATH_INFO '
             'headers (gunicorn\'s forwarded_allow_ips; "*" trusts '
             'everyone). Empty, the default: no client-sent header changes '
             'routing or the URL scheme, from 127.0.0.1 included.'),
    cfg.IntOpt(
        'graceful_timeout', default=30, min=1,
        help='Seconds workers get to finish their requests after SIGTERM.'),
    cfg.StrOpt(
        'api_paste_config', default='api-paste.ini',
        help="""
The paste deploy file that defines the pipeline. A relative name is looked
up next to the configuration files, then in the installed
``etc/interface-attach`` directory.
"""),
    cfg.StrOpt(
        'auth_strategy', default='keystone', choices=[
            ('keystone', 'keystonemiddleware auth_token validates tokens'),
            ('noauth', 'development only: a token "user:project[:roles]" '
                       'is trusted as it is')],
        help="""
Which paste pipeline serves requests: ``interface_attach`` (keystone) or
``interface_attach_noauth``. The noauth filter refuses to load unless this
is ``noauth``, so it can never be switched on by the paste file alone.
"""),
    cfg.BoolOpt(
        'db_sync_on_start', default=False,
        help='Run the database migrations before the workers start. '
             'Convenient for a single node; run "interface-attach-manage '
             'db sync" instead where several hosts share a database.'),
    cfg.BoolOpt(
        'demo_data_on_start', default=False,
        help='Create the demo project data (a network, a subnet, a free '
             'port and an ACTIVE server; see README.rst) if missing.'),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}
