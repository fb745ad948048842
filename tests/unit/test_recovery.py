"""Recovery and the checker, on states a crash leaves behind."""

import datetime
import subprocess
import sys

from oslo_utils import timeutils
from oslotest import base
import sqlalchemy as sa

from interface_attach.api import paste
from interface_attach import checker
from interface_attach.db import attachments
from interface_attach.db import tables
from interface_attach import exception
from interface_attach import recovery
from tests import fixtures as ia_fixtures

PROJECT = 'p1'


def dead_owner():
    """The owner token of a process of this host that has exited."""
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return attachments.new_owner().split(':')[0] + ':%d:dead' % process.pid


class RecoveryTest(base.BaseTestCase):

    backend = None

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(
            ia_fixtures.ServiceFixture(backend=self.backend))
        self.services = paste.Services(self.service.conf)
        self.addCleanup(self.services.database.dispose)
        self.compute = self.services.compute
        self.recovery = recovery.Recovery(self.compute, stale_after=300)
        store = self.service.networks
        self.server = self.service.servers.create(PROJECT, 'vm')
        self.net = store.create_network(PROJECT, 'net')
        store.create_subnet(self.net.id, '10.0.0.0/24')
        self.port = store.create_port(PROJECT, self.net.id)[0]

    def violations(self):
        return checker.check(self.service.database, False, 300)

    def row(self, port_id):
        table = tables.interface_attachments
        with self.service.database.reader() as conn:
            return conn.execute(sa.select(table).where(
                table.c.port_id == port_id)).first()

    def crashed_claim(self, owner):
        """What an attach by port leaves when killed after the claim."""
        self.compute.attachments.reserve(self.server.id, self.port.id,
                                         self.net.id, port_created=False,
                                         owner=owner)
        self.compute.driver.claim_port(
            self.compute.driver.get_port(self.port.id), self.server)

    def crashed_create(self, owner):
        """What an attach by network leaves when killed after creating."""
        port_id = '11111111-2222-3333-4444-555555555555'
        self.compute.attachments.reserve(self.server.id, port_id,
                                         self.net.id, port_created=True,
                                         owner=owner)
        self.compute.driver.create_port(
            port_id, self.compute.driver.get_network(self.net.id, PROJECT),
            self.server)
        return port_id

    def test_attach_of_a_dead_process_is_undone(self):
        self.crashed_claim(dead_owner())
        self.assertEqual(1, len(self.violations()))
        self.assertEqual(1, self.recovery.run())
        self.assertEqual('', self.compute.driver.get_port(
            self.port.id).device_id)
        self.assertIsNone(self.row(self.port.id))
        self.assertEqual([], self.violations())

    def test_created_port_of_a_dead_attach_is_deleted(self):
        port_id = self.crashed_create(dead_owner())
        self.assertEqual(1, self.recovery.run())
        self.assertRaises(exception.PortNotFound,
                          self.compute.driver.get_port, port_id)
        self.assertEqual([], self.violations())

    def test_live_fresh_operation_is_left_alone(self):
        owner = attachments.new_owner()   # this very process
        self.crashed_claim(owner)
        self.assertEqual(0, self.recovery.run())
        self.assertEqual([], self.violations())
        # ... and it can still finish.
        self.compute.attachments.confirm(self.port.id, owner)
        self.assertEqual('attached', self.row(self.port.id).state)

    def test_stale_operation_of_any_host_is_taken_over(self):
        owner = 'another-host:1:abc'
        self.crashed_claim(owner)
        self.assertEqual(0, self.recovery.run())
        later = timeutils.utcnow() + datetime.timedelta(seconds=301)
        self.useFixture(ia_fixtures.fixtures.MockPatchObject(
            timeutils, 'utcnow', return_value=later))
        self.assertEqual(1, self.recovery.run())
        self.assertIsNone(self.row(self.port.id))

    def test_old_owner_cannot_write_after_a_take_over(self):
        owner = attachments.new_owner()
        self.crashed_claim(owner)
        row = self.row(self.port.id)
        self.assertTrue(self.compute.attachments.take_over(
            row, attachments.new_owner()))
        self.assertFalse(self.compute.attachments.take_over(
            row, attachments.new_owner()))
        self.assertRaises(exception.OperationTakenOver,
                          self.compute.attachments.confirm, self.port.id,
                          owner)

    def test_interrupted_detach_is_finished(self):
        port = self.compute.attach_interface(self.server,
                                             network_id=self.net.id)
        self.compute.attachments.start_detach(self.server.id, port.id,
                                              dead_owner())
        self.assertEqual(1, self.recovery.run())
        self.assertRaises(exception.PortNotFound,
                          self.compute.driver.get_port, port.id)
        self.assertEqual([], self.violations())


class CheckerTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(ia_fixtures.ServiceFixture())
        self.store = self.service.networks
        self.net = self.store.create_network(PROJECT, 'net')
        self.subnet = self.store.create_subnet(self.net.id, '10.0.0.0/24')
        self.server = self.service.servers.create(PROJECT, 'vm')

    def execute(self, statement):
        with self.service.database.writer() as conn:
            conn.execute(statement)

    def check(self):
        return checker.check(self.service.database, False, 300)

    def test_consistent_store(self):
        self.store.create_port(PROJECT, self.net.id)
        self.assertEqual([], self.check())

    def test_port_bound_to_a_missing_server(self):
        port = self.store.create_port(PROJECT, self.net.id)[0]
        self.execute(tables.ports.update().values(
            device_id='gone', device_owner='compute:nova'))
        problems = self.check()
        self.assertIn('port %s is bound to server gone, which does not exist'
                      % port.id, problems)

    def test_address_outside_its_subnet(self):
        port = self.store.create_port(PROJECT, self.net.id)[0]
        self.execute(tables.ip_allocations.update().values(
            ip_address='192.168.9.9'))
        self.assertEqual(['address 192.168.9.9 of port %s is outside subnet '
                          '%s (10.0.0.0/24)' % (port.id, self.subnet.id)],
                         self.check())

    def test_two_ports_on_one_network(self):
        rows = [dict(port_id=str(i) * 8, server_id=self.server.id,
                     network_id=self.net.id, network_guard=None,
                     port_created=True, state='attached',
                     created_at=timeutils.utcnow()) for i in (1, 2)]
        self.execute(tables.interface_attachments.insert().values(rows))
        self.assertIn('server %s has 2 ports on network %s (duplicates are '
                      'off)' % (self.server.id, self.net.id), self.check())

    def test_server_stuck_in_a_task(self):
        self.service.servers.set_state(self.server.id, task_state='spawning')
        self.assertEqual([], self.check())
        self.execute(tables.servers.update().values(
            updated_at=timeutils.utcnow() - datetime.timedelta(hours=1)))
        self.assertEqual(['server %s is stuck in task spawning'
                          % self.server.id], self.check())
