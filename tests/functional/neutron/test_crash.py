"""Crash safety with Neutron: workers SIGKILLed between the steps.

Neutron's ports live outside our database, so an attach is a reservation,
Neutron's change and a confirmation, and a detach the same in reverse. A
real interface-attach-api (``[network] driver = neutron``) runs with a
fault point armed (INTERFACE_ATTACH_FAULT_POINTS), so the worker serving
the request kills itself there, as an OOM kill would. The periodic
recovery of the worker gunicorn starts next must then undo the attach in
Neutron (unbind the port it claimed, delete the one it created) or finish
the detach.
"""

import http.client
import time

from interface_attach.db import attachments
from interface_attach import faultpoints
from tests import api_process
from tests.functional import base
from tests.functional.neutron import test_neutron_driver

RECOVERY_DEADLINE = 30


class NeutronCrashTest(test_neutron_driver.NeutronTestCase):

    def setUp(self):
        super().setUp()
        self.port = api_process.free_port()
        options = self.neutron_options()
        options['api'] = {'bind_host': '127.0.0.1',
                          'bind_port': str(self.port), 'workers': '1'}
        options['recovery'] = {'interval': '1'}
        self.start_service(options=options)
        self.world = self.make_world()

    def serve(self, fault_point=None):
        return self.useFixture(api_process.ApiProcess(
            self.service.config_file, self.port,
            env={faultpoints.ENV: fault_point or ''}))

    def call(self, method, port_id=None, body=None):
        url = test_neutron_driver.v2_url(self.world.project,
                                         self.world.server, port_id)
        return api_process.request(self.port, method, url, body,
                                   base.member(self.world.project))

    def crash(self, method, port_id=None, body=None):
        self.assertRaises((http.client.RemoteDisconnected,
                           ConnectionResetError),
                          self.call, method, port_id, body)

    def attachments(self):
        with self.service.database.reader() as conn:
            return conn.execute(
                attachments._attachments.select()).all()

    def wait_until(self, done, what):
        deadline = time.monotonic() + RECOVERY_DEADLINE
        while not done():
            if time.monotonic() > deadline:
                self.fail('recovery did not %s in %d s; attachments: %s'
                          % (what, RECOVERY_DEADLINE, self.attachments()))
            time.sleep(0.5)

    def server_ports(self):
        return [port['id'] for port in self.neutron.ports(
            device_id=self.world.server)]

    def by_port(self):
        return '{"interfaceAttachment": {"port_id": "%s"}}' % self.world.port

    def attach_crashes_at(self, point, body):
        server = self.serve(point)
        self.crash('POST', body=body)
        self.wait_until(lambda: not self.attachments(), 'undo the attach')
        self.assertEqual([], self.server_ports())
        self.assertUnbound(self.world.port)
        server.stop()
        # Undone: the same attach now succeeds.
        self.serve()
        status, _, answer = self.call('POST', body=body)
        self.assertEqual(200, status, answer)

    def test_attach_by_port_killed_after_the_reservation(self):
        self.attach_crashes_at('attach:reserved', self.by_port())

    def test_attach_by_port_killed_after_the_claim(self):
        self.attach_crashes_at('attach:bound', self.by_port())

    def test_attach_by_network_killed_after_creating_the_port(self):
        self.attach_crashes_at('attach:bound', '{"interfaceAttachment": '
                               '{"net_id": "%s"}}' % self.world.net)
        # The port the killed attach created is gone: only the free port
        # and the one the second attach made are left.
        self.assertEqual(2, len(self.neutron.ports(
            network_id=self.world.net)))

    def detach_crashes_at(self, point):
        server = self.serve()
        status, _, answer = self.call('POST', body=self.by_port())
        self.assertEqual(200, status, answer)
        server.stop()
        server = self.serve(point)
        self.crash('DELETE', self.world.port)
        # Finished: the port is no longer attached, and free again.
        self.wait_until(lambda: not self.attachments(), 'finish the detach')
        self.assertUnbound(self.world.port)
        server.stop()
        self.serve()
        status, _, answer = self.call('POST', body=self.by_port())
        self.assertEqual(200, status, answer)

    def test_detach_killed_after_it_started(self):
        self.detach_crashes_at('detach:started')

    def test_detach_killed_after_releasing_the_port(self):
        self.detach_crashes_at('detach:released')
