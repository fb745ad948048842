"""Keystone for the Nova tier: the peers' Keystone, seeded for one cloud.

``CloudKeystone`` runs the Keystone of ``tests/functional/peers`` (SQLite,
fernet, gunicorn on 127.0.0.1) and, once the cloud's services have ports,
``populate`` gives it:

* projects ``alpha`` (an admin, a member and a reader) and ``beta`` (a
  member), the callers of the tests;
* project ``service`` with the users of Nova (roles ``admin`` and
  ``service``: Nova's service token is what lets Neutron 29 unbind and
  delete ``compute:*`` ports) and Neutron (``service``, for auth_token's
  token validation);
* the catalog: compute in ``FILTERED_REGION`` is the nova-api with the
  interface-attach filter, in ``STOCK_REGION`` the stock nova-api; network
  and identity in both, so that a client picks its nova-api by region.
"""

import unittest
import uuid

import fixtures

from tests.functional.neutron import fixtures as neutron_fixtures
from tests.functional.peers import fixtures as peer_fixtures

DOMAIN = peer_fixtures.DOMAIN
FILTERED_REGION = peer_fixtures.REGION
STOCK_REGION = 'RegionTwo'
REGIONS = {'filtered': FILTERED_REGION, 'stock': STOCK_REGION}

# user name -> (project name, roles); every user has one password.
USERS = {
    'alpha-admin': ('alpha', 'admin'),
    'alpha-member': ('alpha', 'member'),
    'alpha-reader': ('alpha', 'reader'),
    'beta-member': ('beta', 'member'),
    'nova': ('service', ('admin', 'service')),
    'neutron': ('service', 'service'),
}
#: The cloud's token names (``NovaCloud.tokens``) -> users.
CALLERS = {'admin_a': 'alpha-admin', 'member_a': 'alpha-member',
           'reader_a': 'alpha-reader', 'member_b': 'beta-member'}


def skip_unless_available():
    """Raise SkipTest naming the pip packages Keystone mode lacks."""
    missing = peer_fixtures.missing_packages()
    if missing:
        raise unittest.SkipTest('the Nova tier with Keystone needs these pip '
                                'packages, not installed: %s'
                                % ', '.join(missing))


class CloudKeystone(fixtures.Fixture):
    """A Keystone on a free port of 127.0.0.1; ``populate`` seeds it."""

    def __init__(self):
        super().__init__()
        self.password = uuid.uuid4().hex
        # One worker: tempest's two runs create and delete users and
        # projects at once.
        self.keystone = peer_fixtures.Keystone(neutron_fixtures.free_port(),
                                               self.password, workers=1)
        self.auth_url = self.keystone.auth_url
        self.projects = {}
        self._sessions = {}

    def _setUp(self):
        self.useFixture(self.keystone)

    def populate(self, compute_urls, network_url):
        """Users, projects and the catalog.

        :param compute_urls: {'filtered': URL, 'stock': URL}, nova-api's
            base URLs (``/v2.1`` is appended).
        """
        endpoints = []
        for api, region in sorted(REGIONS.items()):
            endpoints += [
                ('compute', 'nova', region, compute_urls[api] + '/v2.1'),
                ('network', 'neutron', region, network_url)]
        # bootstrap made RegionOne's identity endpoint.
        endpoints.append(('identity', 'keystone', STOCK_REGION,
                          self.auth_url))
        self.projects = self.keystone.populate(USERS, endpoints)
        return self.projects

    def log_tail(self, size=6000):
        """The end of Keystone's log and of its gunicorn's."""
        keystone = self.keystone
        return '%s\n---- gunicorn ----\n%s' % (
            peer_fixtures.tail(keystone.log)[-size:],
            peer_fixtures.tail(keystone.process.log_path)[-size:])

    def project_of(self, user):
        return self.projects[USERS[user][0]]

    def session(self, user=None):
        """A keystoneauth session of ``user`` (None: the bootstrap admin)."""
        if user not in self._sessions:
            if user is None:
                self._sessions[user] = self.keystone.admin_session()
            else:
                from keystoneauth1.identity import v3
                from keystoneauth1 import session as ks_session
                self._sessions[user] = ks_session.Session(
                    auth=v3.Password(**self._password_args(user)))
        return self._sessions[user]

    def token(self, user=None):
        return self.session(user).get_token()

    def _password_args(self, user):
        return {'auth_url': self.auth_url, 'username': user,
                'password': self.password, 'project_name': USERS[user][0],
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN}

    def password_auth(self, user):
        """keystoneauth's configuration options for ``user``'s password."""
        return dict(self._password_args(user), auth_type='password')

    def authtoken(self, user):
        """A ``[keystone_authtoken]`` section validating as ``user``."""
        # The catalog has public endpoints only (auth_token's default
        # interface is internal).
        return dict(self.password_auth(user),
                    www_authenticate_uri=self.auth_url,
                    region_name=FILTERED_REGION, interface='public')

    def os_environ(self, user, api):
        """The ``OS_*`` environment of ``user`` on ``api``'s region."""
        return peer_fixtures.os_environ(self.auth_url, user, self.password,
                                        USERS[user][0], REGIONS[api])
