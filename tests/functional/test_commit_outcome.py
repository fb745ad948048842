"""A COMMIT whose connection is lost: the answer says what the database holds.

The service reaches PostgreSQL or MariaDB through a TCP proxy that loses
one COMMIT: before the server gets it, or after the server committed it
and only its answer was lost; then the connection is reset, or held open
and silent (the client gives up at its statement timeout, the server's
session lives on). The service finds out on a new connection whether the
write landed: a success if it did, a plain 503 (nothing kept, try again)
if it surely did not, and a 503 that says the outcome is unknown if the
database cannot tell it in time.
"""

import sqlalchemy as sa

from interface_attach.db import engine
from tests import databases
from tests import fixtures as ia_fixtures
from tests.functional import base as functional
from tests import tcp_proxy

UNAVAILABLE = 'The database service is unavailable. Please try again later.'
UNKNOWN = ('The database service was lost while this change was being '
           'saved, and whether it was saved is not known. Look before '
           'trying again.')
Proxy = tcp_proxy.TcpProxy


class CommitOutcomeTest(functional.FunctionalTestCase):

    backend = 'postgresql'

    def setUp(self):
        super().setUp()
        url = sa.engine.make_url(databases.database_url(self.backend))
        self.proxy = self.useFixture(Proxy(url.host, url.port))
        proxied = url.set(host='127.0.0.1', port=self.proxy.port)
        self.service = self.useFixture(ia_fixtures.ServiceFixture(
            backend=self.backend,
            connection=proxied.render_as_string(hide_password=False),
            # A held COMMIT is given up on after 2 s; the outcome is
            # looked for during 2 s.
            options={'database': {'statement_timeout': '2',
                                  'connect_timeout': '1',
                                  'outcome_timeout': '2'}}))
        self.app = self.service.app
        self.servers = self.service.servers
        self.networks = self.service.networks
        self.w = self.make_world()

    def attach_losing_commit(self, how, then=None):
        self.proxy.lose_commit(how, then)
        response = self.attach(self.w.server, {'interfaceAttachment': {
            'net_id': self.w.net}})
        self.assertTrue(self.proxy.commit_lost())
        return response

    def detach_losing_commit(self, how):
        """Attach the world's port, then detach it losing the COMMIT.

        :returns: the detach's response, and the rows before it.
        """
        response = self.attach(self.w.server, {'interfaceAttachment': {
            'port_id': self.w.port}})
        self.assertEqual(200, response.status_int, response.text)
        before = self.snapshot()
        self.proxy.lose_commit(how)
        response = self.app.delete(
            '%s/%s' % (functional.interfaces_url(self.w.server), self.w.port),
            headers={'X-Auth-Token': functional.member()},
            expect_errors=True)
        self.assertTrue(self.proxy.commit_lost())
        return response, before

    def assertAttachedAsAnswered(self, response):
        self.assertEqual(200, response.status_int, response.text)
        port_id = response.json['interfaceAttachment']['port_id']
        self.assertEqual([port_id], self.ports_bound_to(self.w.server))

    def assertNothingKept(self, response, before):
        self.assertFault(response, 503, UNAVAILABLE)
        self.assertEqual('5', response.headers['Retry-After'])
        self.assertEqual(before, self.snapshot())

    def test_attach_committed_but_answer_lost_is_a_success(self):
        self.assertAttachedAsAnswered(
            self.attach_losing_commit(Proxy.UNANSWERED))

    def test_attach_committed_then_silence_is_a_success(self):
        self.assertAttachedAsAnswered(
            self.attach_losing_commit(Proxy.UNANSWERED_HELD))

    def test_attach_whose_commit_never_arrived_kept_nothing(self):
        before = self.snapshot()
        self.assertNothingKept(
            self.attach_losing_commit(Proxy.UNSENT), before)

    def test_attach_whose_session_still_waits_is_ended_first(self):
        # Its transaction is open on the server, its rows locked, its
        # COMMIT maybe still on the way: the service ends that session
        # before it looks, so the answer is final.
        before = self.snapshot()
        self.assertNothingKept(
            self.attach_losing_commit(Proxy.UNSENT_HELD), before)
        # Its locks went with it.
        self.assertAttachedAsAnswered(self.attach(
            self.w.server, {'interfaceAttachment': {'net_id': self.w.net}}))

    def test_attach_with_the_database_gone_is_unknown_and_says_so(self):
        response = self.attach_losing_commit(Proxy.UNANSWERED,
                                             then=self.proxy.cut)
        self.assertFault(response, 503, UNKNOWN)
        self.assertEqual('5', response.headers['Retry-After'])
        self.proxy.restore()
        # It had landed: what the message tells the client to look for.
        # (The test's pooled connection was cut too.)
        self.assertEqual(1, len(engine.once_more_if_stale(
            self.ports_bound_to, self.w.server)))

    def test_detach_committed_but_answer_lost_is_a_success(self):
        response, _ = self.detach_losing_commit(Proxy.UNANSWERED)
        self.assertEqual(202, response.status_int, response.text)
        self.assertEqual([], self.ports_bound_to(self.w.server))

    def test_detach_whose_commit_never_arrived_kept_nothing(self):
        response, before = self.detach_losing_commit(Proxy.UNSENT_HELD)
        self.assertNothingKept(response, before)


class CommitOutcomeMySQLTest(CommitOutcomeTest):
    backend = 'mysql'
