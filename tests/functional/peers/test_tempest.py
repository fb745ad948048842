"""tempest's InterfacesClient and its flows, at microversions 2.1 and 2.70.

The client is tempest.lib's own (``tempest.lib.services.compute.
interfaces_client``), authenticated by tempest.lib's KeystoneV3AuthProvider
against the test Keystone and finding the compute endpoint in its catalog.
With a microversion set it validates every response against that
version's schema (``additionalProperties: False``: no ``tag`` before 2.70)
and fails any call whose response does not echo
``X-OpenStack-Nova-API-Version``.

The flows are those of tempest/api/compute/servers/
test_attach_interfaces.py, with the embedded store standing in for
Neutron (ports are created there; a detached port's ``device_id`` is read
back from it). They run as the member of project beta, whose only network
is the one an attach without arguments picks.
"""

import fixtures

from tests.functional.peers import base
from tests.functional.peers import fixtures as peer_fixtures

load_tests = peer_fixtures.optimising_suite

USER = 'beta-member'


class TempestFlows:
    """The flows; a subclass sets ``microversion``."""

    microversion = None
    requires = ('tempest',)
    resources = base.resources_for(*requires)

    def setUp(self):
        super().setUp()
        from tempest.lib import auth
        from tempest.lib.services.compute import base_compute_client
        from tempest.lib.services.compute import interfaces_client

        self.useFixture(fixtures.MockPatchObject(
            base_compute_client, 'COMPUTE_MICROVERSION', self.microversion))
        credentials = auth.KeystoneV3Credentials(
            username=USER, password=self.peers.password, project_name='beta',
            user_domain_name=peer_fixtures.DOMAIN,
            project_domain_name=peer_fixtures.DOMAIN)
        provider = auth.KeystoneV3AuthProvider(credentials,
                                               self.peers.auth_url)
        self.client = interfaces_client.InterfacesClient(
            provider, 'compute', peer_fixtures.REGION)
        self.project = self.peers.projects['beta']
        self.network = self.peers.beta_network_id
        self.subnet = self.peers.beta_subnet

    def create_server(self):
        return self.store.server(self.project, peer_fixtures.unique(
            'tempest')).id

    def assertVersionEchoed(self, body):
        self.assertEqual(
            self.microversion,
            body.response['x-openstack-nova-api-version'])

    def check_interface(self, server, interface, port_id=None,
                        network_id=None, fixed_ip=None, mac_addr=None):
        """tempest's _check_interface, ACTIVE wait included (show)."""
        shown = self.client.show_interface(
            server, interface['port_id'])['interfaceAttachment']
        self.assertEqual('ACTIVE', shown['port_state'])
        if port_id:
            self.assertEqual(port_id, interface['port_id'])
        if network_id:
            self.assertEqual(network_id, interface['net_id'])
        if fixed_ip:
            self.assertEqual(fixed_ip,
                             interface['fixed_ips'][0]['ip_address'])
        if mac_addr:
            self.assertEqual(mac_addr, interface['mac_addr'])

    def create_interface(self, server, **kwargs):
        body = self.client.create_interface(server, **kwargs)
        self.assertVersionEchoed(body)
        return body['interfaceAttachment']

    def list_port_ids(self, server):
        body = self.client.list_interfaces(server)
        self.assertVersionEchoed(body)
        return [i['port_id'] for i in body['interfaceAttachments']]

    def delete_and_check(self, server, interfaces, index):
        """Delete one interface: 202, then the list no longer has it."""
        doomed = interfaces[index]['port_id']
        body = self.client.delete_interface(server, doomed)
        self.assertEqual(202, body.response.status)
        self.assertVersionEchoed(body)
        remaining = self.list_port_ids(server)
        self.assertEqual(len(interfaces) - 1, len(remaining))
        self.assertNotIn(doomed, remaining)

    def test_create_list_show_delete_interfaces_by_network_port(self):
        server = self.create_server()
        # No parameters: the project's only network.
        first = self.create_interface(server)
        self.check_interface(server, first, network_id=self.network)
        interfaces = [first]

        by_network = self.create_interface(server, net_id=first['net_id'])
        self.check_interface(server, by_network, network_id=first['net_id'])
        interfaces.append(by_network)

        port = self.store.port(self.project, self.network)
        by_port = self.create_interface(server, port_id=port)
        self.check_interface(server, by_port, port_id=port,
                             network_id=self.network)
        interfaces.append(by_port)

        listed = self.client.list_interfaces(server)['interfaceAttachments']
        self.assertEqual(sorted(i['port_id'] for i in interfaces),
                         sorted(i['port_id'] for i in listed))

        shown = self.client.show_interface(
            server, listed[0]['port_id'])['interfaceAttachment']
        self.assertEqual(listed[0]['port_id'], shown['port_id'])
        self.assertEqual(listed[0]['net_id'], shown['net_id'])
        self.assertEqual(listed[0]['fixed_ips'][0]['ip_address'],
                         shown['fixed_ips'][0]['ip_address'])
        self.assertEqual(listed[0]['mac_addr'], shown['mac_addr'])

        self.delete_and_check(server, interfaces, 1)

    def test_create_list_show_delete_interfaces_by_fixed_ip(self):
        server = self.create_server()
        taken = {ip['ip_address'] for _, ips in
                 self.store.networks.list_ports_with_ips(
                     network_id=self.network) for ip in ips}
        prefix = self.subnet.cidr.rsplit('.', 1)[0]
        address = next(ip for ip in ('%s.%d' % (prefix, last)
                                     for last in range(250, 2, -1))
                       if ip not in taken)
        interface = self.create_interface(
            server, net_id=self.network, fixed_ips=[{'ip_address': address}])
        self.assertEqual(address, interface['fixed_ips'][0]['ip_address'])
        self.check_interface(server, interface, network_id=self.network,
                             fixed_ip=address)
        self.assertEqual([interface['port_id']], self.list_port_ids(server))
        self.delete_and_check(server, [interface], 0)

    def test_reassign_port_between_servers(self):
        port = self.store.port(self.project, self.network)
        for server in (self.create_server(), self.create_server()):
            interface = self.create_interface(server, port_id=port)
            self.check_interface(server, interface, port_id=port)
            self.assertEqual(server, self.store.device_of(port))
            body = self.client.delete_interface(server, port)
            self.assertEqual(202, body.response.status)
            # Detach unbinds a port the user made, never deletes it.
            self.assertEqual('', self.store.device_of(port))


class TempestAt21Test(TempestFlows, base.PeersTestCase):

    microversion = '2.1'

    def test_no_tag_below_2_70(self):
        server = self.create_server()
        interface = self.create_interface(server, net_id=self.network)
        self.assertNotIn('tag', interface)


class TempestAt270Test(TempestFlows, base.PeersTestCase):

    microversion = '2.70'

    def test_create_get_list_interfaces(self):
        """AttachInterfacesV270Test: tag may be null, schema-checked."""
        server = self.create_server()
        interface = self.create_interface(server)
        self.assertIsNone(interface['tag'])
        self.check_interface(server, interface)
        shown = self.client.show_interface(
            server, interface['port_id'])['interfaceAttachment']
        self.assertIsNone(shown['tag'])
        listed = self.client.list_interfaces(server)['interfaceAttachments']
        self.assertEqual([None], [i['tag'] for i in listed])

    def test_tagged_attach(self):
        server = self.create_server()
        interface = self.create_interface(server, net_id=self.network,
                                          tag='nic-tag')
        self.assertEqual('nic-tag', interface['tag'])
        listed = self.client.list_interfaces(server)['interfaceAttachments']
        self.assertEqual(['nic-tag'], [i['tag'] for i in listed])
