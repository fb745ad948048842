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

from interface_attach.db import attachments
from interface_attach.db import engine
from tests import databases
from tests import fixtures as ia_fixtures
from tests.functional import base as functional
from tests.functional.neutron import test_neutron_driver
from tests import tcp_proxy

UNAVAILABLE = 'The database service is unavailable. Please try again later.'
UNKNOWN = ('The database service was lost while this change was being '
           'saved, and whether it was saved is not known. Look before '
           'trying again.')
Proxy = tcp_proxy.TcpProxy


# A held COMMIT is given up on after 2 s; the outcome is looked for
# during 2 s.
DATABASE_OPTIONS = {'statement_timeout': '2', 'connect_timeout': '1',
                    'outcome_timeout': '2'}


def start_behind_proxy(test, options=None):
    """The service on ``test.backend`` through a TcpProxy; the proxy."""
    url = sa.engine.make_url(databases.database_url(test.backend))
    proxy = test.useFixture(Proxy(url.host, url.port))
    proxied = url.set(host='127.0.0.1', port=proxy.port)
    test.service = test.useFixture(ia_fixtures.ServiceFixture(
        backend=test.backend,
        connection=proxied.render_as_string(hide_password=False),
        options=dict(options or {}, database=DATABASE_OPTIONS)))
    test.app = test.service.app
    test.servers = test.service.servers
    test.networks = test.service.networks
    return proxy


class CommitOutcomeTest(functional.FunctionalTestCase):

    backend = 'postgresql'

    def setUp(self):
        super().setUp()
        self.proxy = start_behind_proxy(self)
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


class NeutronCommitOutcomeTest(test_neutron_driver.NeutronTestCase):
    """With Neutron an attach or a detach commits in steps: each is learned.

    The reservation, Neutron's change, then the confirmation: a lost COMMIT
    of either step that landed lets the attach go on, and one whose
    outcome is unknown is not undone (it may have been confirmed: recovery
    undoes what stays 'attaching').
    """

    backend = 'postgresql'

    def setUp(self):
        super().setUp()
        self.proxy = start_behind_proxy(self, self.neutron_options())
        self.w = self.make_world()

    def attach_losing_commit(self, after, then=None):
        self.proxy.lose_commit(Proxy.UNANSWERED, then, after=after)
        response = self.post(self.w, {'port_id': self.w.port})
        self.assertTrue(self.proxy.commit_lost())
        return response

    def assertAttachedInBoth(self):
        """Bound in Neutron, and attached, ownerless, in the database."""
        self.assertBoundTo(self.w.port, self.w.server)
        self.assertEqual([(self.w.port, 'attached', None)],
                         engine.once_more_if_stale(self.attachment_states))

    def attachment_states(self):
        with self.service.database.reader() as conn:
            return [(row.port_id, row.state, row.owner) for row in
                    conn.execute(attachments._attachments.select())]

    def test_a_reservation_that_landed_goes_on(self):
        response = self.attach_losing_commit(after=0)
        self.assertEqual(200, response.status_int, response.text)
        self.assertAttachedInBoth()

    def test_a_confirmation_that_landed_is_a_success(self):
        response = self.attach_losing_commit(after=1)
        self.assertEqual(200, response.status_int, response.text)
        self.assertAttachedInBoth()

    def test_a_confirmation_of_unknown_outcome_is_not_undone(self):
        response = self.attach_losing_commit(after=1, then=self.proxy.cut)
        self.assertFault(response, 503, UNKNOWN)
        self.proxy.restore()
        # It had been confirmed: undoing it would have unbound a port the
        # database says is attached.
        self.assertAttachedInBoth()

    def test_a_detach_whose_start_landed_goes_on(self):
        response = self.post(self.w, {'port_id': self.w.port})
        self.assertEqual(200, response.status_int, response.text)
        self.proxy.lose_commit(Proxy.UNANSWERED)
        response = self.delete(self.w, self.w.port)
        self.assertTrue(self.proxy.commit_lost())
        self.assertEqual(202, response.status_int, response.text)
        self.assertUnbound(self.w.port)
        self.assertNoAttachments()
