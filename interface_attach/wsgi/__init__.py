"""Start-up: configuration, logging, schema, and the paste app to serve."""

import os
import sys

from oslo_log import log as logging
from paste import deploy

from interface_attach.api import paste
from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach import demo
from interface_attach import policy
from interface_attach import recovery

LOG = logging.getLogger(__name__)

CONFIG_ENV = 'OS_INTERFACE_ATTACH_CONFIG_FILE'
PIPELINES = {'keystone': 'interface_attach',
             'noauth': 'interface_attach_noauth'}


def find_paste_config(conf):
    """The api-paste.ini to load, as an absolute path.

    Looked up as given, next to the configuration files, in the installed
    etc/interface-attach, then in the source tree.
    """
    name = conf.api.api_paste_config
    candidates = [name]
    if not os.path.isabs(name):
        candidates += [os.path.join(os.path.dirname(f), name)
                       for f in conf.config_file or []]
        candidates.append(os.path.join(sys.prefix, 'etc', 'interface-attach',
                                       name))
        candidates.append(os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))), 'etc', 'interface_attach', name))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise RuntimeError('Cannot find the paste config %s (looked in: %s)'
                       % (name, ', '.join(candidates)))


def prepare(conf):
    """Logging; policy files; migrate and seed the database; recover.

    :raises InvalidPolicyFile: a policy file would not load.
    """
    logging.setup(conf, 'interface-attach')
    if conf.compute.backend != 'nova':
        # Nova's own policy applies in that mode.
        policy.check_files(conf)
    database = engine.Database(conf.database,
                               create=conf.api.db_sync_on_start)
    try:
        if conf.api.db_sync_on_start:
            migration.db_sync(database)
        if conf.api.demo_data_on_start and demo.create_demo_data(database):
            LOG.info('Created the demo data (project %s)', demo.PROJECT_ID)
    finally:
        database.dispose()
    services = paste.Services(conf)
    try:
        recovered = recovery.from_conf(conf, services).run()
        if recovered:
            LOG.warning('Recovered %d interrupted operations', recovered)
    finally:
        services.database.dispose()


def start_background(conf):
    """What each serving process runs beside requests: recovery."""
    return recovery.start_periodic(conf, paste.Services(conf))


def load_app(conf):
    """The pipeline of ``[api] auth_strategy`` from the paste config."""
    path = find_paste_config(conf)
    global_conf = {'config_file': os.pathsep.join(conf.config_file or [])}
    if conf.config_dir:
        global_conf['config_dir'] = conf.config_dir
    app = deploy.loadapp('config:%s' % path,
                         name=PIPELINES[conf.api.auth_strategy],
                         global_conf=global_conf)
    LOG.info('Loaded pipeline %s from %s', PIPELINES[conf.api.auth_strategy],
             path)
    # The pipeline's configuration, logged after loading it: authtoken
    # registers its options then. Secret options are logged as ****.
    paste.load_conf(global_conf, {}).log_opt_values(LOG, logging.DEBUG)
    return app


def init_application(args=()):
    """Configuration from $OS_INTERFACE_ATTACH_CONFIG_FILE or defaults."""
    files = os.environ.get(CONFIG_ENV)
    conf = ia_conf.new_conf(
        args, config_files=files.split(os.pathsep) if files else None)
    prepare(conf)
    start_background(conf)
    return load_app(conf)
