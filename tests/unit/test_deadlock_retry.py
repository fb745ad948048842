"""A write the database aborts as a deadlock runs again, a few times."""

import fixtures
from oslo_db import exception as db_exc
from oslotest import base

from interface_attach.db import attachments
from tests import fixtures as ia_fixtures


class DeadlockRetryTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        service = self.useFixture(ia_fixtures.ServiceFixture())
        self.database = service.database
        self.store = attachments.AttachmentStore(self.database, False)
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def _deadlocks(self, times):
        """The next ``times`` write transactions abort as deadlocks."""
        real_writer = self.database.writer
        calls = []

        def writer():
            calls.append(None)
            if len(calls) <= times:
                raise db_exc.DBDeadlock()
            return real_writer()
        self.useFixture(fixtures.MockPatchObject(self.database, 'writer',
                                                 side_effect=writer))
        return calls

    def _reserve(self):
        self.store.reserve('server-1', 'port-1', 'net-1', port_created=True,
                           owner='host:1:abc')

    def test_a_deadlocked_write_runs_again_and_lands_once(self):
        calls = self._deadlocks(2)
        self._reserve()
        self.assertEqual(3, len(calls))
        self.assertEqual(['port-1'],
                         [row.port_id for row in self.store.in_flight()])

    def test_it_gives_up_after_four_retries(self):
        calls = self._deadlocks(5)
        self.assertRaises(db_exc.DBDeadlock, self._reserve)
        self.assertEqual(5, len(calls))
        self.assertEqual([], self.store.in_flight())
