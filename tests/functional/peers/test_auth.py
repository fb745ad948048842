"""Tokens and roles from a real Keystone, through keystonemiddleware.

Bogus, expired and missing tokens are refused with 401 on both surfaces;
the role matrix (admin, member and reader of the server's project, member
of another project) over list, show, create and delete, on /v2/{project_id}
and /v2.1, one test per cell, each asserting the status, the fault and
what happened (or did not) to the port.
"""

import datetime
import time

from tests.functional.peers import base
from tests.functional.peers import fixtures as peer_fixtures

load_tests = peer_fixtures.optimising_suite

SURFACES = ('v2', 'v2.1')
UNAUTHORIZED = 'The request you have made requires authentication.'
# Seconds the expiring token lives: long enough for one request on a busy
# machine, short enough to wait for.
LIFETIME = 5


class UnauthorizedTest(base.PeersTestCase):

    def setUp(self):
        super().setUp()
        self.alpha = self.peers.projects['alpha']
        self.server = self.store.server(self.alpha).id

    def _list(self, surface, token, user='alpha-member'):
        return peer_fixtures.http_request(
            '%s/servers/%s/os-interface' % (
                self.peers.surface_url(surface, user), self.server),
            token=token)

    def assertUnauthorized(self, response, surface):
        status, headers, body = response
        self.assertEqual(401, status, body)
        self.assertEqual({'unauthorized': {'code': 401,
                                           'message': UNAUTHORIZED}}, body)
        self.assertEqual('Keystone uri="%s"' % self.peers.auth_url,
                         headers['www-authenticate'])
        self.assertRegex(headers['x-openstack-request-id'], r'^req-')
        if surface == 'v2.1':
            # Every /v2.1 response says its microversion, a 401 included.
            self.assertEqual('2.1', headers['x-openstack-nova-api-version'])
            self.assertEqual('compute 2.1', headers['openstack-api-version'])
        else:
            self.assertNotIn('openstack-api-version', headers)

    def test_bogus_token(self):
        for surface in SURFACES:
            self.assertUnauthorized(
                self._list(surface, 'gAAAAABbogus%s' % surface), surface)

    def test_missing_token(self):
        for surface in SURFACES:
            self.assertUnauthorized(self._list(surface, None), surface)

    def test_expired_token(self):
        """A token Keystone issued, accepted, then refused once expired.

        Keystone caps the expiry of a token issued for an application
        credential at the credential's own expiry, so a credential that
        expires in a few seconds gives a real fernet token that does too,
        without shortening ``[token] expiration`` for everyone.
        """
        session = self.peers.session('alpha-member')
        auth_url = self.peers.auth_url
        # Warm up: the API workers get their service token now, not while
        # the short-lived token ticks.
        for surface in SURFACES:
            self._list(surface, self.peers.token('alpha-member'))
        expires = (datetime.datetime.now(datetime.timezone.utc)
                   + datetime.timedelta(seconds=LIFETIME))
        credential = session.post(
            '%s/users/%s/application_credentials'
            % (auth_url, session.get_user_id()),
            json={'application_credential': {
                'name': peer_fixtures.unique('expiring'),
                'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.%f')}},
        ).json()['application_credential']
        status, headers, body = peer_fixtures.http_request(
            auth_url + '/auth/tokens', 'POST', body={'auth': {'identity': {
                'methods': ['application_credential'],
                'application_credential': {
                    'id': credential['id'],
                    'secret': credential['secret']}}}})
        self.assertEqual(201, status, body)
        token = headers['x-subject-token']
        token_expires = datetime.datetime.fromisoformat(
            body['token']['expires_at'].replace('Z', '+00:00'))
        self.assertLessEqual(token_expires, expires)

        # Valid now (and cached by auth_token on /v2.1) ...
        status, _, body = self._list('v2.1', token)
        self.assertEqual(200, status, body)

        # ... refused once expired: from auth_token's cache on /v2.1, by
        # Keystone's validation on /v2.
        delay = (token_expires - datetime.datetime.now(
            datetime.timezone.utc)).total_seconds()
        time.sleep(max(0, delay) + 0.5)
        for surface in SURFACES:
            self.assertUnauthorized(self._list(surface, token), surface)

    def test_a_valid_token_passes(self):
        for surface in SURFACES:
            status, _, body = self._list(
                surface, self.peers.token('alpha-member'))
            self.assertEqual(200, status, body)
            self.assertEqual({'interfaceAttachments': []}, body)


# user -> expected status of list, show, create, delete on alpha's server.
MATRIX = {
    'alpha-admin': {'list': 200, 'show': 200, 'create': 200, 'delete': 202},
    'alpha-member': {'list': 200, 'show': 200, 'create': 200, 'delete': 202},
    'alpha-reader': {'list': 200, 'show': 200, 'create': 403, 'delete': 403},
    'beta-member': {'list': 404, 'show': 404, 'create': 404, 'delete': 404},
}
FAULTS = {403: 'forbidden', 404: 'itemNotFound'}
POLICY = 'os_compute_api:os-attach-interfaces:%s'


class RoleMatrixTest(base.PeersTestCase):
    """Users call with their own project's URL, as their catalog gives it.

    A server of project alpha has one attached port; a second, free port
    is there for create.
    """

    def setUp(self):
        super().setUp()
        alpha = self.peers.projects['alpha']
        self.server = self.store.server(alpha).id
        network_id, _ = self.store.network(alpha)
        self.attached = self.store.port(alpha, network_id)
        self.free = self.store.port(alpha, network_id)
        self.attach('alpha-member', self.server, port_id=self.attached)

    def _request(self, user, surface, operation):
        base_url = '%s/servers/%s/os-interface' % (
            self.peers.surface_url(surface, user), self.server)
        member_url = '%s/%s' % (base_url, self.attached)
        method, url, body = {
            'list': ('GET', base_url, None),
            'show': ('GET', member_url, None),
            'create': ('POST', base_url,
                       {'interfaceAttachment': {'port_id': self.free}}),
            'delete': ('DELETE', member_url, None),
        }[operation]
        return peer_fixtures.http_request(url, method,
                                          token=self.peers.token(user),
                                          body=body)

    def check(self, user, surface, operation):
        expected = MATRIX[user][operation]
        status, headers, body = self._request(user, surface, operation)
        self.assertEqual(expected, status, body)
        if surface == 'v2.1':
            self.assertEqual('2.1', headers['x-openstack-nova-api-version'])
        if expected == 403:
            self.assertEqual({'forbidden': {
                'code': 403,
                'message': "Policy doesn't allow %s to be performed."
                           % POLICY % operation}}, body)
        elif expected == 404:
            self.assertEqual({'itemNotFound': {
                'code': 404,
                'message': 'Instance %s could not be found.' % self.server}},
                body)
        elif operation == 'list':
            self.assertEqual([self.attached], [
                i['port_id'] for i in body['interfaceAttachments']])
        elif operation == 'show':
            self.assertEqual(self.attached,
                             body['interfaceAttachment']['port_id'])
        elif operation == 'create':
            self.assertEqual(self.free,
                             body['interfaceAttachment']['port_id'])
        elif operation == 'delete':
            self.assertIsNone(body)

        # What the store says happened.
        allowed = expected < 400
        self.assertEqual(
            self.server if operation == 'create' and allowed else '',
            self.store.device_of(self.free))
        self.assertEqual(
            '' if operation == 'delete' and allowed else self.server,
            self.store.device_of(self.attached))

    def test_v2_url_of_another_project(self):
        """Before anything else, the URL's project must be the token's."""
        alpha = self.peers.projects['alpha']
        beta = self.peers.projects['beta']
        status, _, body = peer_fixtures.http_request(
            '%s/v2/%s/servers/%s/os-interface' % (self.peers.api.url, alpha,
                                                  self.server),
            token=self.peers.token('beta-member'))
        self.assertEqual(400, status, body)
        self.assertEqual({'badRequest': {
            'code': 400,
            'message': "Malformed request URL: URL's project_id '%s' "
                       "doesn't match Context's project_id '%s'"
                       % (alpha, beta)}}, body)


def _cell(user, surface, operation):
    def test(self):
        self.check(user, surface, operation)
    test.__name__ = 'test_%s_%s_%s' % (
        surface.replace('.', '_'), user.replace('-', '_'), operation)
    test.__doc__ = '%s %s on %s: %s.' % (
        user, operation, surface, MATRIX[user][operation])
    return test


for _user in MATRIX:
    for _surface in SURFACES:
        for _operation in ('list', 'show', 'create', 'delete'):
            _test = _cell(_user, _surface, _operation)
            setattr(RoleMatrixTest, _test.__name__, _test)
