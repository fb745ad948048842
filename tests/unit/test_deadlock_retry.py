"""A write the database aborts as a deadlock runs again, a few times."""

import fixtures
from oslo_db import exception as db_exc
from oslotest import base

from interface_attach.api import paste
from interface_attach import checker
from interface_attach.db import attachments
from interface_attach.network import local
from tests import fixtures as ia_fixtures


class DeadlockRetryTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(ia_fixtures.ServiceFixture())
        self.database = self.service.database
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

    def test_inside_an_open_transaction_the_write_is_not_retried_alone(self):
        # The deadlock aborted the whole transaction: running the one
        # write again inside it would be wrong.
        insert = self.useFixture(fixtures.MockPatchObject(
            self.store, '_insert', side_effect=db_exc.DBDeadlock())).mock
        with self.database.writer():
            self.assertRaises(db_exc.DBDeadlock, self.store.add, 'server-1',
                              'port-1', 'net-1', port_created=True)
        self.assertEqual(1, insert.call_count)

    def test_an_attach_in_one_transaction_runs_again_whole(self):
        services = paste.Services(self.service.conf)
        self.addCleanup(services.database.dispose)
        compute = services.compute
        server = self.service.servers.create('p1', 'vm')
        net = self.service.networks.create_network('p1', 'net')
        self.service.networks.create_subnet(net.id, '10.0.0.0/24')
        real_create = local.LocalDriver.create_port
        creates = []

        def deadlock_once(driver, *args, **kwargs):
            creates.append(None)
            if len(creates) == 1:
                raise db_exc.DBDeadlock()
            return real_create(driver, *args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            local.LocalDriver, 'create_port', autospec=True,
            side_effect=deadlock_once))
        add = self.useFixture(fixtures.MockPatchObject(
            compute.attachments, 'add',
            wraps=compute.attachments.add)).mock

        port = compute.attach_interface(server, network_id=net.id)

        self.assertEqual((2, 2), (len(creates), add.call_count))
        self.assertEqual([port.id], [
            row.port_id for row in compute.attachments.list_for_server(
                server.id)])
        self.assertEqual([port.id], [p.id for p in
                                     compute.driver.list_server_ports(server)])
        self.assertEqual([], checker.check(self.database, False, 300))
