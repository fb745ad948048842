"""The base of the real-peers tests: skip without the packages, share peers.

A test class names the client distributions it drives in ``requires``;
without them, or without Keystone and gunicorn, its tests skip and say
which pip packages are missing. Otherwise each test gets ``self.peers``
(see ``fixtures.Peers``), shared with the other tests of its suite.
"""

from oslotest import base
import testresources

from tests.functional.peers import fixtures as peer_fixtures


def resources_for(*distributions):
    """The ``resources`` of a class that needs ``distributions``.

    Empty when something is missing, so that no suite starts peers for tests
    that will skip.
    """
    if peer_fixtures.missing_packages(*distributions):
        return []
    return [('peers', peer_fixtures.PEERS)]


class PeersTestCase(base.BaseTestCase):

    requires = ()
    resources = resources_for()

    def setUp(self):
        super().setUp()
        missing = peer_fixtures.missing_packages(*self.requires)
        if missing:
            self.skipTest('the real-peers tier needs these pip packages, '
                          'not installed: %s' % ', '.join(missing))
        if self.resources:
            peer_fixtures.PEERS.hold_outside_suites()
        testresources.setUpResources(self, self.resources, None)
        self.addCleanup(testresources.tearDownResources, self,
                        self.resources, None)
        if isinstance(self.peers, peer_fixtures.Unavailable):
            self.fail(self.peers.reason)
        self.store = self.peers.store

    def attach(self, user, server_id, **attachment):
        """POST on /v2.1 as ``user``; the interfaceAttachment answered."""
        status, _, body = peer_fixtures.http_request(
            '%s/servers/%s/os-interface' % (self.peers.compute_url,
                                            server_id),
            'POST', token=self.peers.token(user),
            body={'interfaceAttachment': attachment})
        self.assertEqual(200, status, body)
        return body['interfaceAttachment']
