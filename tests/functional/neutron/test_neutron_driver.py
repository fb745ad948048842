"""The ``neutron`` network driver against a real Neutron, through the API.

One Neutron (see ``fixtures.NeutronFixture``) serves each test class;
every test uses a project of its own, so tests do not see each other's
networks. Requests go through the shipped paste pipeline configured with
``[network] driver = neutron``; assertions read Neutron itself.
"""

import http.client
import http.server
import socket
import threading
import time
import uuid

import fixtures

from interface_attach.db import attachments
from interface_attach.network import neutron as neutron_driver
from tests.functional import base
from tests.functional.neutron import fixtures as neutron_fixtures
from tests.functional.neutron import race

HOST = 'compute1'
ATTACH_FAILED = 'Failed to attach interface'


def v21_url(server_id, port_id=None):
    url = '/v2.1/servers/%s/os-interface' % server_id
    return url if port_id is None else '%s/%s' % (url, port_id)


def v2_url(project_id, server_id, port_id=None):
    url = base.interfaces_url(server_id, project_id)
    return url if port_id is None else '%s/%s' % (url, port_id)


class NeutronTestCase(base.FunctionalTestCase):
    """Tests with a real Neutron, started once for the class."""

    neutron = None
    #: Whether the class needs a Neutron of its own.
    needs_neutron = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.needs_neutron:
            return
        neutron_fixtures.skip_unless_available()
        neutron = neutron_fixtures.NeutronFixture()
        neutron.setUp()
        cls.addClassCleanup(neutron.cleanUp)
        cls.neutron = neutron

    def neutron_options(self, **overrides):
        options = {'auth_type': 'none'}
        if self.neutron is not None:
            options['endpoint_override'] = self.neutron.url
        options.update(overrides)
        return {'network': {'driver': 'neutron'}, 'neutron': options}

    def start_neutron_service(self, **overrides):
        return self.start_service(options=self.neutron_options(**overrides))

    def make_world(self, host=HOST, cidr='10.0.0.0/24'):
        """A project of its own: a server, a network, a free port."""
        if self.service is None:
            self.start_neutron_service()
        project = uuid.uuid4().hex
        server = self.servers.create(project, 'vm1', user_id='alice',
                                     host=host)
        network, subnet = self.neutron.create_network(project, cidr=cidr)
        port = self.neutron.create_port(project, network['id'])
        return base.World(project=project, server=server.id,
                          net=network['id'], subnet=subnet['id'],
                          port=port['id'], port_ip=port['fixed_ips'][0][
                              'ip_address'],
                          missing=str(uuid.uuid4()))

    # Requests, on either surface.

    def headers(self, project):
        return {'X-Auth-Token': base.member(project),
                'Accept': 'application/json'}

    def post(self, world, attachment, surface='v2', server=None):
        server = server or world.server
        url = (v2_url(world.project, server) if surface == 'v2'
               else v21_url(server))
        return self.app.post_json(
            url, {'interfaceAttachment': attachment},
            headers=self.headers(world.project), expect_errors=True)

    def get(self, world, port_id=None, surface='v2'):
        url = (v2_url(world.project, world.server, port_id)
               if surface == 'v2' else v21_url(world.server, port_id))
        return self.app.get(url, headers=self.headers(world.project),
                            expect_errors=True)

    def delete(self, world, port_id, surface='v2'):
        url = (v2_url(world.project, world.server, port_id)
               if surface == 'v2' else v21_url(world.server, port_id))
        return self.app.delete(url, headers=self.headers(world.project),
                               expect_errors=True)

    # Assertions on Neutron.

    def assertBoundTo(self, port_id, server_id, host=HOST):
        port = self.neutron.get_port(port_id)
        self.assertEqual(
            (server_id, 'compute:nova', host, 'other'),
            (port['device_id'], port['device_owner'],
             port['binding:host_id'], port['binding:vif_type']), port)

    def assertUnbound(self, port_id):
        port = self.neutron.get_port(port_id)
        self.assertIsNotNone(port, 'port %s was deleted' % port_id)
        self.assertEqual(('', '', ''),
                         (port['device_id'], port['device_owner'],
                          port['binding:host_id']), port)

    def assertNoAttachments(self):
        with self.service.database.reader() as conn:
            rows = conn.execute(
                attachments._attachments.select()).all()
        self.assertEqual([], rows)

    def assertUnavailable(self, response):
        self.assertFault503(response)
        self.assertEqual('30', response.headers.get('Retry-After'))

    def assertFault503(self, response):
        self.assertEqual(
            (503, {'serviceUnavailable': {
                'code': 503, 'message': 'The network service is '
                'unavailable. Please try again later.'}}),
            (response.status_int, response.json), response.text)
        self.assertNoTraceback(response)


class AttachDetachTests:
    """Every attach, list, show and detach path."""

    def test_attach_existing_port_binds_it(self):
        world = self.make_world()
        response = self.post(world, {'port_id': world.port})
        self.assertEqual(200, response.status_int, response.text)
        neutron_port = self.neutron.get_port(world.port)
        expected = {'interfaceAttachment': {
            'port_id': world.port, 'net_id': world.net,
            'mac_addr': neutron_port['mac_address'],
            'port_state': 'ACTIVE',
            'fixed_ips': [{'subnet_id': world.subnet,
                           'ip_address': world.port_ip}]}}
        self.assertEqual(expected, response.json)
        self.assertBoundTo(world.port, world.server)

    def test_list_and_show_come_from_neutron(self):
        world = self.make_world()
        self.assertEqual(200, self.post(world, {'port_id': world.port})
                         .status_int)
        # One port per network and server: the second on another network.
        second, _ = self.neutron.create_network(world.project, 'second',
                                                cidr='10.1.0.0/24')
        created = self.post(world, {'net_id': second['id']})
        self.assertEqual(200, created.status_int, created.text)
        new_port = created.json['interfaceAttachment']['port_id']

        for surface in ('v2', 'v2.1'):
            listed = self.get(world, surface=surface)
            self.assertEqual(200, listed.status_int, listed.text)
            self.assertEqual(
                [world.port, new_port],
                [a['port_id'] for a in
                 listed.json['interfaceAttachments']])
            shown = self.get(world, new_port, surface=surface)
            self.assertEqual(200, shown.status_int, shown.text)
            self.assertEqual(created.json['interfaceAttachment'],
                             shown.json['interfaceAttachment'])

        # A port of the project that is not attached is not shown.
        other = self.neutron.create_port(world.project, world.net)
        self.assertFault(self.get(world, other['id']), 404,
                         'Instance %s does not have a port with id %s'
                         % (world.server, other['id']))

    def test_detach_unbinds_a_port_that_existed(self):
        world = self.make_world()
        self.assertEqual(200, self.post(world, {'port_id': world.port})
                         .status_int)
        response = self.delete(world, world.port)
        self.assertEqual(202, response.status_int, response.text)
        self.assertUnbound(world.port)
        self.assertEqual([], self.get(world).json['interfaceAttachments'])
        # Free again: it can be attached once more.
        self.assertEqual(200, self.post(world, {'port_id': world.port})
                         .status_int)

    def test_attach_by_network_creates_and_detach_deletes(self):
        world = self.make_world()
        response = self.post(world, {'net_id': world.net})
        self.assertEqual(200, response.status_int, response.text)
        attachment = response.json['interfaceAttachment']
        port_id = attachment['port_id']
        self.assertEqual(world.net, attachment['net_id'])
        self.assertBoundTo(port_id, world.server)
        self.assertEqual(world.project,
                         self.neutron.get_port(port_id)['project_id'])

        response = self.delete(world, port_id, surface='v2.1')
        self.assertEqual(202, response.status_int, response.text)
        self.assertIsNone(self.neutron.get_port(port_id))
        self.assertNoAttachments()

    def test_attach_by_network_with_fixed_ip(self):
        world = self.make_world()
        response = self.post(world, {'net_id': world.net, 'fixed_ips': [
            {'ip_address': '10.0.0.77'}]})
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(
            [{'subnet_id': world.subnet, 'ip_address': '10.0.0.77'}],
            response.json['interfaceAttachment']['fixed_ips'])
        port = self.neutron.get_port(
            response.json['interfaceAttachment']['port_id'])
        self.assertEqual('10.0.0.77', port['fixed_ips'][0]['ip_address'])

    def test_attach_with_no_network_uses_the_only_one(self):
        world = self.make_world()
        response = self.post(world, {})
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(world.net,
                         response.json['interfaceAttachment']['net_id'])

    def test_attach_to_a_shared_network_of_another_project(self):
        world = self.make_world()
        shared, _ = self.neutron.create_network(
            uuid.uuid4().hex, name='public', shared=True,
            cidr='192.168.50.0/24')
        self.addCleanup(self.neutron.delete_network, shared['id'])
        response = self.post(world, {'net_id': shared['id']})
        self.assertEqual(200, response.status_int, response.text)
        port_id = response.json['interfaceAttachment']['port_id']
        self.assertBoundTo(port_id, world.server)
        self.assertEqual(202, self.delete(world, port_id).status_int)


class ErrorMappingTests:
    """Neutron's refusals, as the spec (/v2) and Nova (/v2.1) answer them.

    Each also checks that nothing was left behind in Neutron or in the
    attachments table.
    """

    def assertFaultBoth(self, world, attachment, v2, v21):
        """(status, message) on /v2 and on /v2.1 for one request."""
        for surface, (status, message) in (('v2', v2), ('v2.1', v21)):
            response = self.post(world, attachment, surface=surface)
            self.assertFault(response, status, world.fill(message))
        self.assertNoAttachments()
        self.assertEqual([], self.neutron.ports(device_id=world.server))

    def test_port_not_found(self):
        world = self.make_world()
        self.assertFaultBoth(
            world, {'port_id': world.missing}, (500, ATTACH_FAILED),
            (404, 'Port id {missing} could not be found.'))

    def test_network_not_found(self):
        world = self.make_world()
        self.assertFaultBoth(
            world, {'net_id': world.missing}, (500, ATTACH_FAILED),
            (404, 'Network {missing} could not be found.'))

    def test_network_of_another_project_is_not_found(self):
        world = self.make_world()
        foreign, _ = self.neutron.create_network(uuid.uuid4().hex)
        world.foreign = foreign['id']
        self.assertFaultBoth(
            world, {'net_id': foreign['id']}, (500, ATTACH_FAILED),
            (404, 'Network {foreign} could not be found.'))

    def test_port_of_another_project_is_not_usable(self):
        world = self.make_world()
        other_net, _ = self.neutron.create_network(uuid.uuid4().hex)
        foreign = self.neutron.create_port(other_net['project_id'],
                                           other_net['id'])
        world.foreign = foreign['id']
        message = 'Port {foreign} not usable for instance {server}.'
        self.assertFaultBoth(world, {'port_id': foreign['id']},
                             (400, message), (400, message))
        self.assertUnbound(foreign['id'])

    def test_port_in_use(self):
        world = self.make_world()
        self.neutron.call('PUT', '/v2.0/ports/%s' % world.port, {'port': {
            'device_id': 'router-1', 'device_owner': 'network:router'}})
        message = 'Port {port} is still in use.'
        self.assertFaultBoth(world, {'port_id': world.port},
                             (400, message), (409, message))
        self.assertEqual('router-1',
                         self.neutron.get_port(world.port)['device_id'])

    def test_fixed_ip_already_in_use(self):
        world = self.make_world()
        world.ip = world.port_ip
        message = 'Fixed IP {ip} is already in use.'
        self.assertFaultBoth(
            world, {'net_id': world.net,
                    'fixed_ips': [{'ip_address': world.port_ip}]},
            (400, message), (409, message))

    def test_fixed_ip_invalid_for_network(self):
        world = self.make_world()
        message = ('Fixed IP 10.9.0.5 is not a valid ip address for network '
                   '{net}.')
        self.assertFaultBoth(
            world, {'net_id': world.net,
                    'fixed_ips': [{'ip_address': '10.9.0.5'}]},
            (400, message), (400, message))

    def test_no_more_fixed_ips(self):
        # A /29: .1 is the gateway, .2 to .6 are for ports.
        world = self.make_world(cidr='10.0.0.0/29')
        for _ in range(4):
            self.neutron.create_port(world.project, world.net)
        message = 'No fixed IP addresses available for network: {net}'
        self.assertFaultBoth(world, {'net_id': world.net},
                             (400, message), (400, message))

    def test_port_quota_exceeded(self):
        world = self.make_world()
        self.neutron.set_port_quota(world.project, 1)
        message = 'Maximum number of ports exceeded'
        self.assertFaultBoth(world, {'net_id': world.net},
                             (413, message), (403, message))

    def test_network_ambiguous(self):
        world = self.make_world()
        self.neutron.create_network(world.project, name='second',
                                    cidr='10.1.0.0/24')
        message = ('Multiple possible networks found, use a Network ID to '
                   'be more specific.')
        self.assertFaultBoth(world, {}, (400, message), (400, message))

    def test_no_network_available(self):
        self.start_neutron_service()
        project = uuid.uuid4().hex
        server = self.servers.create(project, 'vm1', host=HOST)
        world = base.World(project=project, server=server.id)
        message = ("No specific network was requested and none are "
                   "available for project '{project}'.")
        self.assertFaultBoth(world, {}, (400, message), (400, message))

    def test_binding_failed_on_claim_unbinds_the_port(self):
        world = self.make_world(host='unbindable')
        self.assertFaultBoth(world, {'port_id': world.port},
                             (500, ATTACH_FAILED), (500, ATTACH_FAILED))
        self.assertUnbound(world.port)

    def test_binding_failed_on_create_deletes_the_port(self):
        world = self.make_world(host='unbindable')
        self.assertFaultBoth(world, {'net_id': world.net},
                             (500, ATTACH_FAILED), (500, ATTACH_FAILED))
        self.assertEqual([world.port], [p['id'] for p in self.neutron.ports(
            network_id=world.net)])


class RollbackTests:
    """A failure after Neutron acted undoes what it did there."""

    def fail_confirm(self):
        """The attachment cannot be confirmed (the database failed)."""
        self.useFixture(fixtures.MockPatchObject(
            attachments.AttachmentStore, 'confirm',
            side_effect=RuntimeError('database went away')))

    def test_claimed_port_is_unbound(self):
        world = self.make_world()
        self.fail_confirm()
        self.assertFault(self.post(world, {'port_id': world.port}), 500,
                         ATTACH_FAILED)
        self.assertUnbound(world.port)
        self.assertNoAttachments()

    def test_created_port_is_deleted(self):
        world = self.make_world()
        self.fail_confirm()
        self.assertFault(self.post(world, {'net_id': world.net}), 500,
                         ATTACH_FAILED)
        self.assertEqual([world.port], [p['id'] for p in self.neutron.ports(
            network_id=world.net)])
        self.assertNoAttachments()


class CompareAndSwapTests:
    """The claim carries If-Match: a port changed since it was read."""

    def change_after_read(self, change):
        """Run ``change(port)`` in Neutron right after the driver reads."""
        original = neutron_driver.NeutronDriver.get_port
        calls = []

        def get_port(driver, port_id):
            port = original(driver, port_id)
            if not calls:
                calls.append(port_id)
                change(port)
            return port
        self.useFixture(fixtures.MockPatchObject(
            neutron_driver.NeutronDriver, 'get_port', get_port))

    def test_port_bound_by_someone_else_meanwhile_is_in_use(self):
        world = self.make_world()
        self.change_after_read(lambda port: self.neutron.call(
            'PUT', '/v2.0/ports/%s' % port.id, {'port': {
                'device_id': 'nova-server', 'device_owner': 'compute:nova'}}))
        self.assertFault(self.post(world, {'port_id': world.port}), 400,
                         'Port %s is still in use.' % world.port)
        # Neutron kept the other claim; we did not overwrite or unbind it.
        self.assertEqual('nova-server',
                         self.neutron.get_port(world.port)['device_id'])
        self.assertNoAttachments()

    def test_port_merely_touched_meanwhile_is_claimed(self):
        world = self.make_world()
        self.change_after_read(lambda port: self.neutron.call(
            'PUT', '/v2.0/ports/%s' % port.id, {'port': {'name': 'renamed'}}))
        response = self.post(world, {'port_id': world.port})
        self.assertEqual(200, response.status_int, response.text)
        self.assertBoundTo(world.port, world.server)


class Silent:
    """A TCP listener that accepts and never answers; counts requests."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)

    def close(self):
        self.sock.close()
        for conn in self._conns:
            conn.close()


class WritesHang:
    """A proxy to Neutron that can leave writes unanswered.

    ``modes`` maps a method to ``'drop'`` (never sent on, never answered)
    or ``'withhold'`` (done in Neutron, the answer never given); any other
    request passes through. Writes are recorded in ``writes``.
    """

    def __init__(self, neutron_port, modes=None, hold=3):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):

            def _send_on(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection('127.0.0.1', neutron_port,
                                                  timeout=30)
                headers = {'Accept': 'application/json'}
                for name in ('Content-Type', 'If-Match'):
                    if self.headers.get(name):
                        headers[name] = self.headers[name]
                conn.request(self.command, self.path, body=body,
                             headers=headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                return response.status, data

            def _handle(self):
                mode = proxy.modes.get(self.command)
                if self.command != 'GET':
                    proxy.writes.append((self.command, self.path))
                if mode is None:
                    status, body = self._send_on()
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if mode == 'withhold':
                    self._send_on()
                time.sleep(hold)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.modes = dict(modes or {})
        self.writes = []
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WriteTimeoutTests:
    """A write that timed out may have happened: it is never repeated."""

    def test_write_timing_out_is_sent_once_then_503(self):
        proxy = WritesHang(self.neutron.port,
                           modes={'POST': 'drop', 'PUT': 'drop'})
        self.addCleanup(proxy.close)
        self.start_neutron_service(endpoint_override=proxy.url, timeout='1',
                                   connect_retries='2',
                                   connect_retry_delay='0.1')
        world = self.make_world()
        other = self.servers.create(world.project, 'vm2', host=HOST)
        started = time.monotonic()
        self.assertUnavailable(self.post(world, {'net_id': world.net}))
        self.assertUnavailable(self.post(world, {'port_id': world.port},
                                         surface='v2.1', server=other.id))
        self.assertLess(time.monotonic() - started, 10)
        # Each write once; the DELETE is the rollback of the create (by the
        # id compute reserved: Neutron's id never came back).
        self.assertEqual(
            ['POST /v2.0/ports', 'DELETE', 'PUT /v2.0/ports/%s' % world.port],
            [write if write.startswith(('POST', 'PUT')) else 'DELETE'
             for write in ('%s %s' % w for w in proxy.writes)])
        self.assertNoAttachments()
        self.assertUnbound(world.port)

    def test_port_created_but_unanswered_is_found_and_deleted(self):
        # Neutron creates the port; its answer (with the id) is lost.
        # The answer is withheld after Neutron gave it: the create has
        # happened by the time the driver gives up (5 s).
        proxy = WritesHang(self.neutron.port, modes={'POST': 'withhold'},
                           hold=8)
        self.addCleanup(proxy.close)
        self.start_neutron_service(endpoint_override=proxy.url, timeout='5')
        world = self.make_world()
        self.assertUnavailable(self.post(world, {'net_id': world.net}))
        # The rollback deletes the reserved id (404), finds the port by its
        # tag and deletes that.
        self.assertEqual(['POST', 'DELETE', 'DELETE'],
                         [method for method, _ in proxy.writes])
        self.assertEqual([], self.neutron.ports(device_id=world.server))
        self.assertEqual([world.port], [p['id'] for p in self.neutron.ports(
            network_id=world.net)])
        self.assertNoAttachments()


class DetachOutageTests:
    """A detach whose answer is lost is 503; retried, it completes."""

    def test_detach_timing_out_then_retried(self):
        proxy = WritesHang(self.neutron.port)
        self.addCleanup(proxy.close)
        self.start_neutron_service(endpoint_override=proxy.url, timeout='2')
        world = self.make_world()
        response = self.post(world, {'net_id': world.net})
        self.assertEqual(200, response.status_int, response.text)
        port_id = response.json['interfaceAttachment']['port_id']

        # Neutron deletes the port; the answer is lost.
        proxy.modes['DELETE'] = 'withhold'
        self.assertUnavailable(self.delete(world, port_id))
        self.assertIsNone(self.neutron.get_port(port_id))
        # Still attached in our records, so the caller can retry...
        with self.service.database.reader() as conn:
            rows = conn.execute(attachments._attachments.select()).all()
        self.assertEqual([(port_id, 'attached')],
                         [(row.port_id, row.state) for row in rows])
        proxy.modes.clear()
        # ... and the retry finds nothing left to delete, and completes.
        self.assertEqual(202, self.delete(world, port_id).status_int)
        self.assertNoAttachments()


class NeutronDriverTest(AttachDetachTests, ErrorMappingTests, RollbackTests,
                        CompareAndSwapTests, WriteTimeoutTests,
                        DetachOutageTests, race.RaceTests,
                        NeutronTestCase):
    """All tests that need Neutron: one Neutron per test process."""


class OutageTest(NeutronTestCase):
    """Neutron down or silent: 503 with Retry-After, quickly, no trace."""

    # No Neutron: these point the driver at a closed or silent port.
    needs_neutron = False

    def make_down_world(self, endpoint, **options):
        self.start_service(options=self.neutron_options(
            endpoint_override=endpoint, **options))
        project = uuid.uuid4().hex
        server = self.servers.create(project, 'vm1', host=HOST)
        return base.World(project=project, server=server.id,
                          missing=str(uuid.uuid4()))

    def test_unreachable(self):
        closed = neutron_fixtures.free_port()
        world = self.make_down_world('http://127.0.0.1:%d' % closed,
                                     connect_retries='1',
                                     connect_retry_delay='0.1')
        for surface in ('v2', 'v2.1'):
            self.assertUnavailable(self.post(
                world, {'port_id': world.missing}, surface=surface))
            self.assertUnavailable(self.post(
                world, {'net_id': world.missing}, surface=surface))
            self.assertUnavailable(self.post(world, {}, surface=surface))
            self.assertUnavailable(self.get(world, surface=surface))
        self.assertNoAttachments()

    def test_timeout_is_retried_for_reads_then_503(self):
        silent = Silent()
        self.addCleanup(silent.close)
        world = self.make_down_world('http://127.0.0.1:%d' % silent.port,
                                     timeout='1', connect_retries='1',
                                     connect_retry_delay='0.1')
        started = time.monotonic()
        self.assertUnavailable(self.post(world, {'port_id': world.missing}))
        self.assertLess(time.monotonic() - started, 10)
        # The GET of the port, once more after the first timed out.
        self.assertEqual(2, silent.accepted)
