"""Test fixtures: a service configured in a temporary directory.

``ServiceFixture`` writes a real configuration file (and, if asked, a
policy file), migrates a fresh SQLite database with the real Alembic
scripts, and loads the shipped ``etc/interface_attach/api-paste.ini`` with
paste.deploy, so the wiring tested is the wiring operators use.
"""

import configparser
import os

import fixtures
from paste.deploy import loadapp
import webtest

from interface_attach import conf as ia_conf
from interface_attach.db import engine
from interface_attach.db import migration
from interface_attach.db import networks
from interface_attach.db import servers
from tests import databases

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_PASTE = os.path.join(REPO, 'etc', 'interface_attach', 'api-paste.ini')


class ServiceFixture(fixtures.Fixture):
    """A migrated database, a config file and the paste-loaded app.

    :param options: {'section': {'option': value}} written to the config.
    :param policy: (filename, text) of a policy file next to the config.
    :param pipeline: the paste pipeline name to load.
    :param backend: None for SQLite in the temporary directory, or
        'mysql' / 'postgresql' for this process's database on that server
        (tests.databases; the test skips if the server is unreachable).
    :param connection: a database URL to use instead (it must be migrated
        or empty, and is emptied when ``backend`` is set).
    """

    def __init__(self, options=None, policy=None,
                 pipeline='interface_attach_noauth', backend=None,
                 connection=None):
        super().__init__()
        self.connection = connection
        self.options = options or {}
        self.policy = policy
        self.pipeline = pipeline
        self.backend = backend

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        if self.connection is not None:
            connection = self.connection
        elif self.backend is None:
            connection = 'sqlite:///%s' % os.path.join(
                self.dir, 'interface-attach.sqlite')
        else:
            connection = databases.database_url(self.backend)
        sections = {
            'api': {'auth_strategy': 'noauth'},
            'database': {'connection': connection},
            # Addresses in order, so that tests can name the one an attach
            # gets; the spread of the default is tests.unit's and the
            # concurrency tests'.
            'network': {'address_window': '1'},
        }
        if self.policy is not None:
            name, text = self.policy
            path = os.path.join(self.dir, name)
            with open(path, 'w') as f:
                f.write(text)
            sections['oslo_policy'] = {'policy_file': path}
        for section, values in self.options.items():
            sections.setdefault(section, {}).update(values)
        parser = configparser.ConfigParser()
        parser.read_dict(sections)
        self.config_file = os.path.join(self.dir, 'interface-attach.conf')
        with open(self.config_file, 'w') as f:
            parser.write(f)

        self.conf = ia_conf.new_conf(config_files=[self.config_file])
        self.database = engine.Database(self.conf.database)
        self.addCleanup(self.database.dispose)
        migration.db_sync(self.database)
        if self.backend is not None:
            databases.empty(self.database)
        self.servers = servers.ServerStore(self.database)
        self.networks = networks.NetworkStore(self.database)

        self.wsgi_app = loadapp('config:%s' % API_PASTE, name=self.pipeline,
                                global_conf={'config_file': self.config_file})
        self.app = webtest.TestApp(self.wsgi_app)
        # The app's own engine: close its connections after the test, or a
        # database server runs out of them over a long run.
        self.addCleanup(_router_of(self.wsgi_app).services.database.dispose)


def _router_of(app):
    """The router at the bottom of a paste pipeline."""
    while not hasattr(app, 'services'):
        app = getattr(app, 'application', None) or app._app
    return app
