"""Create interface: POST /v2/{project_id}/servers/{server_id}/os-interface.

The spec's behaviour, row by row, through the app loaded from the shipped
api-paste.ini. Success cases assert the exact response body and what the
store holds; the fault table asserts status, fault name and exact message
of every refusal, and that a refused request leaves the store untouched.
"""

import re

from interface_attach.network import local
from tests.functional import base

MAC = re.compile(r'^fa:16:3e(:[0-9a-f]{2}){3}$')

ATTACH_FAILED = 'Failed to attach interface'
UNAUTHORIZED = 'The request you have made requires authentication.'
MISMATCH = ("Malformed request URL: URL's project_id '{other_project}' "
            "doesn't match Context's project_id '{project}'")
LOCKED = 'Instance {server} is locked'
NOT_FOUND = 'Instance {server} could not be found.'


def state_message(attr, state):
    return ("Cannot 'attach_interface' instance {server} while it is in "
            "%s %s" % (attr, state))


def port_body(port='{port}'):
    return {'interfaceAttachment': {'port_id': port}}


def net_body(net='{net}', ip=None):
    attachment = {'net_id': net}
    if ip is not None:
        attachment['fixed_ips'] = [{'ip_address': ip}]
    return {'interfaceAttachment': attachment}


class TestCreateInterface(base.FunctionalTestCase):
    """200: the four body patterns and the response body."""

    def assertAttached(self, response, server_id, net_id, fixed_ips,
                       port_state='ACTIVE', port_id=None):
        """The exact 200 body, and the port bound to the server."""
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual('application/json', response.content_type)
        attachment = response.json['interfaceAttachment']
        port, _ = self.port_of(attachment['port_id'])
        self.assertEqual(
            {'interfaceAttachment': {
                'fixed_ips': fixed_ips,
                'mac_addr': port.mac_address,
                'net_id': net_id,
                'port_id': port_id or port.id,
                'port_state': port_state,
            }},
            response.json)
        self.assertRegex(attachment['mac_addr'], MAC)
        self.assertEqual((server_id, port_state), (port.device_id,
                                                   port.status))
        self.assertIn(port.id, self.ports_bound_to(server_id))
        self.assertRequestIds(response)
        return attachment

    # Pattern 1: port_id

    def test_port_id_attaches_the_free_port(self):
        w = self.make_world()
        _, ips = self.port_of(w.port)
        response = self.attach(w.server, port_body(w.port))
        self.assertAttached(response, w.server, w.net,
                            [{'ip_address': '10.0.0.2',
                              'subnet_id': w.subnet}],
                            port_id=w.port)
        self.assertEqual(ips, response.json['interfaceAttachment'][
            'fixed_ips'])

    def test_port_id_in_upper_case_is_the_same_port(self):
        w = self.make_world()
        response = self.attach(w.server, port_body(w.port.upper()))
        self.assertAttached(response, w.server, w.net,
                            [{'ip_address': '10.0.0.2',
                              'subnet_id': w.subnet}],
                            port_id=w.port)

    # Pattern 2: net_id

    def test_net_id_creates_a_port_with_the_next_free_address(self):
        w = self.make_world()
        response = self.attach(w.server, net_body(w.net))
        attachment = self.assertAttached(
            response, w.server, w.net,
            [{'ip_address': '10.0.0.3', 'subnet_id': w.subnet}])
        self.assertNotEqual(w.port, attachment['port_id'])
        port, _ = self.port_of(attachment['port_id'])
        self.assertEqual(base.PROJECT, port.project_id)

    # Pattern 3: net_id and fixed_ips[0].ip_address

    def test_requested_fixed_ip_is_the_one_returned(self):
        w = self.make_world()
        response = self.attach(w.server, net_body(w.net, '10.0.0.77'))
        self.assertAttached(response, w.server, w.net,
                            [{'ip_address': '10.0.0.77',
                              'subnet_id': w.subnet}])

    def test_requested_ipv6_fixed_ip_is_the_one_returned(self):
        w = self.make_world()
        net = self.networks.create_network(base.PROJECT, 'v6')
        subnet = self.networks.create_subnet(net.id, 'fd00:1::/64')
        response = self.attach(w.server, net_body(net.id, 'fd00:1::77'))
        self.assertAttached(response, w.server, net.id,
                            [{'ip_address': 'fd00:1::77',
                              'subnet_id': subnet.id}])

    # Pattern 4: no network given, the only one available

    def _only_network(self, **request):
        w = self.make_world()
        response = self.attach(w.server, **request)
        self.assertAttached(response, w.server, w.net,
                            [{'ip_address': '10.0.0.3',
                              'subnet_id': w.subnet}])

    def test_empty_object_body_uses_the_only_network(self):
        self._only_network(body={})

    def test_empty_body_uses_the_only_network(self):
        self._only_network(raw=b'')

    def test_empty_interface_attachment_uses_the_only_network(self):
        self._only_network(body={'interfaceAttachment': {}})

    def test_shared_network_of_another_project_is_available(self):
        self.start_service()
        server = self.servers.create(base.PROJECT, 'vm1')
        shared = self.networks.create_network(base.OTHER_PROJECT, 'public',
                                              shared=True)
        subnet = self.networks.create_subnet(shared.id, '192.0.2.0/24')
        response = self.attach(server.id, {})
        attachment = self.assertAttached(
            response, server.id, shared.id,
            [{'ip_address': '192.0.2.2', 'subnet_id': subnet.id}])
        port, _ = self.port_of(attachment['port_id'])
        self.assertEqual(base.PROJECT, port.project_id)

    def test_private_network_of_another_project_is_not_available(self):
        w = self.make_world()
        other = self.networks.create_network(base.OTHER_PROJECT, 'theirs')
        self.networks.create_subnet(other.id, '192.0.2.0/24')
        self.assertAttached(self.attach(w.server, {}), w.server, w.net,
                            [{'ip_address': '10.0.0.3',
                              'subnet_id': w.subnet}])

    # The response body

    def test_ipv6_subnet(self):
        self.start_service()
        server = self.servers.create(base.PROJECT, 'vm1')
        net = self.networks.create_network(base.PROJECT, 'v6')
        subnet = self.networks.create_subnet(net.id, 'fd00:1::/64')
        self.assertAttached(self.attach(server.id, net_body(net.id)),
                            server.id, net.id,
                            [{'ip_address': 'fd00:1::2',
                              'subnet_id': subnet.id}])

    def test_dual_stack_network_gives_one_address_per_subnet(self):
        self.start_service()
        server = self.servers.create(base.PROJECT, 'vm1')
        net = self.networks.create_network(base.PROJECT, 'dual')
        v6 = self.networks.create_subnet(net.id, 'fd00:1::/64')
        v4 = self.networks.create_subnet(net.id, '10.1.0.0/24')
        self.assertAttached(self.attach(server.id, net_body(net.id)),
                            server.id, net.id,
                            [{'ip_address': '10.1.0.2', 'subnet_id': v4.id},
                             {'ip_address': 'fd00:1::2',
                              'subnet_id': v6.id}])

    def test_full_subnet_gives_way_to_the_next_of_its_version(self):
        self.start_service()
        server = self.servers.create(base.PROJECT, 'vm1')
        net = self.networks.create_network(base.PROJECT, 'grown')
        full = self.networks.create_subnet(net.id, '10.9.0.0/30')
        self.create_port(base.PROJECT, net.id)   # 10.9.0.2, its only one
        v6 = self.networks.create_subnet(net.id, 'fd00:1::/64')
        more = self.networks.create_subnet(net.id, '10.8.0.0/24')
        self.assertAttached(self.attach(server.id, net_body(net.id)),
                            server.id, net.id,
                            [{'ip_address': '10.8.0.2', 'subnet_id': more.id},
                             {'ip_address': 'fd00:1::2',
                              'subnet_id': v6.id}])
        self.assertEqual('10.9.0.0/30', full.cidr)

    def _port_state(self, vm_state, expected, body):
        w = self.make_world()
        self.servers.set_state(w.server, vm_state=vm_state)
        response = self.attach(w.server, w.fill(body))
        self.assertEqual(expected, response.json['interfaceAttachment'][
            'port_state'], response.text)
        port, _ = self.port_of(response.json['interfaceAttachment'][
            'port_id'])
        self.assertEqual(expected, port.status)

    def test_port_state_active_for_an_active_server(self):
        self._port_state('active', 'ACTIVE', port_body())

    def test_port_state_down_for_a_stopped_server(self):
        self._port_state('stopped', 'DOWN', port_body())

    def test_port_state_down_for_a_paused_server(self):
        self._port_state('paused', 'DOWN', port_body())

    def test_new_port_state_down_for_a_stopped_server(self):
        self._port_state('stopped', 'DOWN', net_body())

    def test_new_port_state_down_for_a_paused_server(self):
        self._port_state('paused', 'DOWN', net_body())

    # Who may attach, and to what

    def test_admin_of_another_project_attaches_to_any_server(self):
        w = self.make_world()
        response = self.attach(w.server, net_body(w.net),
                               token=base.admin(base.OTHER_PROJECT),
                               project_id=base.OTHER_PROJECT)
        attachment = self.assertAttached(
            response, w.server, w.net,
            [{'ip_address': '10.0.0.3', 'subnet_id': w.subnet}])
        port, _ = self.port_of(attachment['port_id'])
        self.assertEqual(base.PROJECT, port.project_id)

    def test_admin_is_not_stopped_by_the_lock(self):
        w = self.make_world()
        self.servers.set_locked(w.server, True)
        self.assertAttached(self.attach(w.server, port_body(w.port),
                                        token=base.admin()),
                            w.server, w.net,
                            [{'ip_address': '10.0.0.2',
                              'subnet_id': w.subnet}],
                            port_id=w.port)

    # allow_duplicate_networks

    def test_duplicate_networks_allowed_by_configuration(self):
        self.start_service(
            options={'network': {'allow_duplicate_networks': 'True'}})
        w = self.make_world()
        first = self.attach(w.server, net_body(w.net))
        self.assertAttached(first, w.server, w.net,
                            [{'ip_address': '10.0.0.3',
                              'subnet_id': w.subnet}])
        second = self.attach(w.server, net_body(w.net))
        self.assertAttached(second, w.server, w.net,
                            [{'ip_address': '10.0.0.4',
                              'subnet_id': w.subnet}])
        third = self.attach(w.server, port_body(w.port))
        self.assertAttached(third, w.server, w.net,
                            [{'ip_address': '10.0.0.2',
                              'subnet_id': w.subnet}],
                            port_id=w.port)
        self.assertEqual(3, len(self.ports_bound_to(w.server)))


# Arrangements: each prepares the scene of a row before the request.

def lock(test, w):
    test.servers.set_locked(w.server, True)


def vm_state(state):
    def arrange(test, w):
        test.servers.set_state(w.server, vm_state=state)
    return arrange


def task_state(state):
    def arrange(test, w):
        test.servers.set_state(w.server, task_state=state)
    return arrange


def never_launched(test, w):
    w.server = test.servers.create(w.project, 'vm0', launched=False).id


def server_deleted(test, w):
    test.servers.delete(w.server)


def server_of_another_project(test, w):
    w.server = test.servers.create(w.other_project, 'theirs').id


def port_bound_to_another_server(test, w):
    other = test.servers.create(w.project, 'vm2')
    w.port = test.create_port(w.project, w.net, device_id=other.id).id


def port_bound_to_this_server(test, w):
    w.port = test.create_port(w.project, w.net, device_id=w.server).id


def port_attached_to_another_server(test, w):
    other = test.servers.create(w.project, 'vm2')
    test.assertEqual(200, test.attach(other.id, port_body(w.port)).status_int)


def server_on_the_network(test, w):
    test.assertEqual(200, test.attach(w.server, net_body(w.net)).status_int)


def second_port_on_the_network(test, w):
    server_on_the_network(test, w)
    w.port = test.create_port(w.project, w.net).id


def second_network(test, w):
    net = test.networks.create_network(w.project, 'second')
    test.networks.create_subnet(net.id, '10.1.0.0/24')


def shared_network_of_another_project(test, w):
    net = test.networks.create_network(w.other_project, 'public',
                                       shared=True)
    test.networks.create_subnet(net.id, '192.0.2.0/24')


def project_without_networks(test, w):
    """The server's project has no network; another's is private."""
    w.project = 'c0ffee00c0ffee00c0ffee00c0ffee00'
    w.server = test.servers.create(w.project, 'lonely').id


def address_taken(test, w):
    test.create_port(w.project, w.net, fixed_ip='10.0.0.50')


def ipv6_network(test, w):
    net = test.networks.create_network(w.project, 'v6')
    test.networks.create_subnet(net.id, 'fd00:1::/64')
    w.net = net.id


def tiny_exhausted_network(test, w):
    """A /30: .1 is the gateway, .2 the only host address, taken."""
    net = test.networks.create_network(w.project, 'tiny')
    test.networks.create_subnet(net.id, '10.9.0.0/30')
    test.create_port(w.project, net.id)
    w.net = net.id


def port_of_another_project(test, w):
    net = test.networks.create_network(w.other_project, 'theirs')
    test.networks.create_subnet(net.id, '192.0.2.0/24')
    w.port = test.create_port(w.other_project, net.id).id


def private_network_of_another_project(test, w):
    net = test.networks.create_network(w.other_project, 'theirs')
    test.networks.create_subnet(net.id, '192.0.2.0/24')
    w.net = net.id


def driver_fails_after(method):
    def arrange(test, w):
        test.patch_after(local.LocalDriver, method)
    return arrange


def _all(*arrangements):
    def arrange(test, w):
        for arrangement in arrangements:
            arrangement(test, w)
    return arrange


Case = base.Case
READER = 'rita:{project}:reader'
NOOP = {'network': {'driver': 'noop'}}

CASES = [
    # 400: the body
    Case('net_id and port_id both given', 400,
         'Must not input both network_id and port_id',
         body={'interfaceAttachment': {'net_id': '{net}',
                                       'port_id': '{port}'}}),
    Case('fixed_ips without net_id', 400,
         'Must input network_id when request IP address',
         body={'interfaceAttachment': {
             'fixed_ips': [{'ip_address': '10.0.0.9'}]}}),
    Case('fixed_ips with port_id and without net_id', 400,
         'Must input network_id when request IP address',
         body={'interfaceAttachment': {
             'port_id': '{port}',
             'fixed_ips': [{'ip_address': '10.0.0.9'}]}}),
    Case('malformed JSON', 400, 'Malformed request body',
         raw='{"interfaceAttachment": {'),
    Case('body without interfaceAttachment', 400,
         "'interfaceAttachment' is a required property",
         body={'port_id': '{port}'}),
    Case('interfaceAttachment a string', 400,
         "Invalid input for field/attribute interfaceAttachment. "
         "Value: foo. 'foo' is not of type 'object'",
         body={'interfaceAttachment': 'foo'}),
    Case('interfaceAttachment a list', 400,
         "Invalid input for field/attribute interfaceAttachment. "
         "Value: []. [] is not of type 'object'",
         body={'interfaceAttachment': []}),
    Case('body a list', 400, "[] is not of type 'object'", body=[]),
    Case('port_id not a UUID', 400,
         "Invalid input for field/attribute port_id. Value: foo. "
         "'foo' is not a 'uuid'",
         body=port_body('foo')),
    Case('net_id not a UUID', 400,
         "Invalid input for field/attribute net_id. Value: foo. "
         "'foo' is not a 'uuid'",
         body=net_body('foo')),
    Case('malformed IP address', 400,
         "Invalid input for field/attribute ip_address. Value: 10.0.0.256. "
         "'10.0.0.256' is not a 'ip_address'",
         body=net_body(ip='10.0.0.256')),
    Case('Content-Type not JSON', 400, 'Unsupported Content-Type',
         raw='{"interfaceAttachment": {}}', content_type='text/plain'),

    # 400: the port
    Case('port bound to another server', 400, 'Port {port} is still in use.',
         body=port_body(), arrange=port_bound_to_another_server),
    Case('port bound to this same server', 400,
         'Port {port} is still in use.',
         body=port_body(), arrange=port_bound_to_this_server),
    Case('port attached to another server', 400,
         'Port {port} is still in use.',
         body=port_body(), arrange=port_attached_to_another_server),
    Case('port of another project', 400,
         'Port {port} not usable for instance {server}.',
         body=port_body(), arrange=port_of_another_project),

    # 400: the network
    Case('server already on the network', 400,
         'Network {net} is duplicated: server {server} is already '
         'associated with a port on it.',
         body=net_body(), arrange=server_on_the_network),
    Case('port on a network the server is already on', 400,
         'Network {net} is duplicated: server {server} is already '
         'associated with a port on it.',
         body=port_body(), arrange=second_port_on_the_network),
    Case('no network given and several available', 400,
         'Multiple possible networks found, use a Network ID to be more '
         'specific.',
         body={}, arrange=second_network),
    Case('no network given, own and shared available', 400,
         'Multiple possible networks found, use a Network ID to be more '
         'specific.',
         body={'interfaceAttachment': {}},
         arrange=shared_network_of_another_project),
    Case('no network given and none available', 400,
         "No specific network was requested and none are available for "
         "project '{project}'.",
         body={}, arrange=_all(project_without_networks,
                               private_network_of_another_project)),

    # 400: the address
    Case('IP address already allocated', 400,
         'Fixed IP 10.0.0.50 is already in use.',
         body=net_body(ip='10.0.0.50'), arrange=address_taken),
    Case('IP address of the gateway', 400,
         'Fixed IP 10.0.0.1 is already in use.',
         body=net_body(ip='10.0.0.1')),
    Case('IP address in no subnet of the network', 400,
         'Fixed IP 192.168.7.7 is not a valid ip address for network {net}.',
         body=net_body(ip='192.168.7.7')),
    Case('IPv6 address on an IPv4 only network', 400,
         'Fixed IP fd00::7 is not a valid ip address for network {net}.',
         body=net_body(ip='fd00::7')),
    Case('IPv6 subnet-router anycast address', 400,
         'Fixed IP fd00:1:: is not a valid ip address for network {net}.',
         body=net_body(ip='fd00:1::'), arrange=ipv6_network),
    Case('no free IP address left', 400,
         'No fixed IP addresses available for network: {net}',
         body=net_body(), arrange=tiny_exhausted_network),

    # 400: the URL's project, before anything else, admins included
    Case('URL project is not the token project', 400, MISMATCH,
         project='{other_project}', body=port_body()),
    Case('URL project mismatch wins over bad body and missing server', 400,
         MISMATCH, project='{other_project}', server='{missing}',
         raw='{"interfaceAttachment": '),
    Case('URL project mismatch for an admin', 400, MISMATCH,
         project='{other_project}', token='root:{project}:admin',
         body=port_body()),
    Case('URL project mismatch for a reader of a locked server', 400,
         MISMATCH, project='{other_project}', token=READER,
         body=port_body(), arrange=lock),

    # 401
    Case('no token', 401, UNAUTHORIZED, token=None, body=port_body()),
    Case('noauth token without project', 401, UNAUTHORIZED,
         token='alice', body=port_body()),
    Case('noauth token with empty project', 401, UNAUTHORIZED,
         token='alice:', body=port_body()),
    Case('noauth token with empty roles', 401, UNAUTHORIZED,
         token='alice:{project}:', body=port_body()),
    Case('noauth token with too many parts', 401, UNAUTHORIZED,
         token='alice:{project}:member:x', body=port_body()),

    # 404
    Case('server absent', 404, 'Instance {missing} could not be found.',
         server='{missing}',
         body=port_body()),
    Case('server of another project', 404, NOT_FOUND, body=port_body(),
         arrange=server_of_another_project),
    Case('server deleted', 404, NOT_FOUND, body=port_body(),
         arrange=server_deleted),
    Case('server id not a UUID', 404, 'Instance foo could not be found.',
         server='foo', body=port_body()),

    # 409
    Case('server locked', 409, LOCKED, body=port_body(), arrange=lock),
    Case('server building', 409, state_message('vm_state', 'building'),
         body=port_body(), arrange=vm_state('building')),
    Case('server in error', 409, state_message('vm_state', 'error'),
         body=net_body(), arrange=vm_state('error')),
    Case('server suspended', 409, state_message('vm_state', 'suspended'),
         body={}, arrange=vm_state('suspended')),
    Case('server rebooting', 409, state_message('task_state', 'rebooting'),
         body=port_body(), arrange=task_state('rebooting')),
    Case('server being deleted', 409,
         state_message('task_state', 'deleting'),
         body=net_body(), arrange=task_state('deleting')),
    Case('server never launched', 409,
         state_message('launched_at', 'None'),
         body=port_body(), arrange=never_launched),

    # 500
    Case('port does not exist', 500, ATTACH_FAILED,
         body=port_body('{missing}')),
    Case('network does not exist', 500, ATTACH_FAILED,
         body=net_body('{missing}')),
    Case('network does not exist with a fixed IP', 500, ATTACH_FAILED,
         body=net_body('{missing}', '10.0.0.9')),
    Case('private network of another project', 500, ATTACH_FAILED,
         body=net_body(), arrange=private_network_of_another_project),
    Case('driver fails after creating the port', 500, ATTACH_FAILED,
         body=net_body(), arrange=driver_fails_after('create_port')),
    Case('driver fails after creating the port with a fixed IP', 500,
         ATTACH_FAILED, body=net_body(ip='10.0.0.9'),
         arrange=driver_fails_after('create_port')),
    Case('driver fails after creating a port on the only network', 500,
         ATTACH_FAILED, body={}, arrange=driver_fails_after('create_port')),
    Case('driver fails after claiming the port', 500, ATTACH_FAILED,
         body=port_body(), arrange=driver_fails_after('claim_port')),

    # 501
    Case('noop driver with port_id', 501,
         'Network driver does not support this function.',
         body=port_body(), options=NOOP),
    Case('noop driver with net_id', 501,
         'Network driver does not support this function.',
         body=net_body(), options=NOOP),
    Case('noop driver with net_id and fixed IP', 501,
         'Network driver does not support this function.',
         body=net_body(ip='10.0.0.9'), options=NOOP),
    Case('noop driver without network', 501,
         'Network driver does not support this function.',
         body={}, options=NOOP),

    # The order of checks: the first fault of a request is the one seen.
    Case('bad body before missing server', 400, 'Malformed request body',
         server='{missing}', raw='{'),
    Case('missing server before policy', 404, NOT_FOUND, token=READER,
         arrange=server_of_another_project, body=port_body()),
    Case('policy before cross-field rules', 403,
         "Policy doesn't allow os_compute_api:os-attach-interfaces:create "
         "to be performed.",
         token=READER, body={'interfaceAttachment': {
             'net_id': '{net}', 'port_id': '{port}'}}),
    Case('cross-field rules before the lock', 400,
         'Must not input both network_id and port_id', arrange=lock,
         body={'interfaceAttachment': {'net_id': '{net}',
                                       'port_id': '{port}'}}),
    Case('lock before state', 409, LOCKED, body=port_body(),
         arrange=_all(lock, vm_state('building'))),
    Case('state before the network', 409,
         state_message('vm_state', 'building'),
         body=port_body('{missing}'), arrange=vm_state('building')),
]


@base.fault_table(CASES)
class TestCreateInterfaceFaults(base.FunctionalTestCase):
    """Every refusal: status, fault name, exact message; store untouched."""
