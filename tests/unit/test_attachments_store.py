"""The attachment store: a detach's removal, with and without RETURNING."""

import fixtures
from oslotest import base

from interface_attach.db import attachments
from interface_attach import exception
from tests import fixtures as ia_fixtures


class RemoveAttachedTest(base.BaseTestCase):

    # Where the database cannot return the deleted row (MySQL), it is
    # read first; the delete still decides between racing detaches.
    delete_returning = True

    def setUp(self):
        super().setUp()
        database = self.useFixture(ia_fixtures.ServiceFixture()).database
        self.useFixture(fixtures.MockPatchObject(
            type(database.engine.dialect), 'delete_returning',
            self.delete_returning))
        self.store = attachments.AttachmentStore(database, False)
        self.store.add('server-1', 'port-1', 'net-1', port_created=True,
                       tag='eth1')

    def test_the_row_as_it_was_is_returned_and_gone(self):
        row = self.store.remove_attached('server-1', 'port-1')
        self.assertEqual(('port-1', 'server-1', 'net-1', True, 'eth1'),
                         (row.port_id, row.server_id, row.network_id,
                          row.port_created, row.tag))
        self.assertEqual([], self.store.list_for_server('server-1'))

    def test_another_server_or_a_second_detach_is_not_attached(self):
        self.assertRaises(exception.PortNotAttached,
                          self.store.remove_attached, 'server-2', 'port-1')
        self.store.remove_attached('server-1', 'port-1')
        self.assertRaises(exception.PortNotAttached,
                          self.store.remove_attached, 'server-1', 'port-1')


class RemoveAttachedWithoutReturningTest(RemoveAttachedTest):
    delete_returning = False
