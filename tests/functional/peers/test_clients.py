"""The real clients against interface-attach-api and a real Keystone.

openstacksdk and python-novaclient through their Python APIs, on a
keystoneauth session of the project's member; python-openstackclient as
the ``openstack`` command, with ``OS_*`` variables naming the test
Keystone. Each test works on its own server and network of project alpha
and checks, besides what the client returns, the port bindings in the
server's store.

The flows (the ``*Flows`` classes, over ``ClientFlows``' arrangements) are
the same for any server of os-interface: ``tests/functional/nova/
test_nova_clients.py`` runs them through nova-api, on Nova's servers.
"""

import json
import logging
import os
import re
import subprocess
import sys

import fixtures

from tests.functional.peers import base
from tests.functional.peers import fixtures as peer_fixtures

load_tests = peer_fixtures.optimising_suite

MAC = re.compile(r'^fa:16:3e(:[0-9a-f]{2}){3}$')


class ClientFlows:
    """What the client tests check, whoever serves os-interface.

    A subclass arranges, before each test, ``self.server`` (of the
    ``user``'s project, named ``self.server_name``) with no interface, and
    ``self.network`` with one subnet, ``self.subnet_id``; and provides:
    ``session()``, ``region``, ``compute_url`` (the catalog's /v2.1),
    ``max_microversion`` (the server's), ``new_port(network_id=None)`` (a
    free port of the network), ``device_of(port_id)``, ``attached_ports()``,
    ``network_of(port_id)``, ``os_environ()`` (``openstack``'s),
    ``free_address(last_octet)``, ``new_network()`` (another network of
    the project) and ``wait_detached(port_id)`` (a detach may finish after
    its 202).
    """

    user = 'alpha-member'
    #: Stock Nova accepts (202) the detach of a port the server does not
    #: have; the spec, and so the standalone service and the filter, 404.
    unattached_detach_is_404 = True

    def assertBound(self, port_id, server_id=None):
        self.assertEqual(server_id or self.server, self.device_of(port_id))

    def assertFree(self, port_id):
        self.wait_detached(port_id)
        self.assertEqual('', self.device_of(port_id))

    def attach(self, server_id, **attachment):
        """POST on /v2.1 as ``user``; the interfaceAttachment answered."""
        status, _, body = peer_fixtures.http_request(
            '%s/servers/%s/os-interface' % (self.compute_url, server_id),
            'POST', token=self.session().get_token(),
            body={'interfaceAttachment': attachment}, timeout=120)
        self.assertEqual(200, status, body)
        return body['interfaceAttachment']


class PeersClientTestCase(ClientFlows, base.PeersTestCase):
    """A server of project alpha in the store, a network of its own."""

    region = peer_fixtures.REGION
    max_microversion = (2, 70)

    def setUp(self):
        super().setUp()
        self.project = self.peers.project_of(self.user)
        self.server_name = peer_fixtures.unique('server')
        self.server = self.store.server(self.project, self.server_name).id
        self.network, self.subnet = self.store.network(self.project)
        self.subnet_id = self.subnet.id
        self.compute_url = self.peers.compute_url

    def session(self):
        return self.peers.session(self.user)

    def new_port(self, network_id=None):
        return self.store.port(self.project, network_id or self.network)

    def new_network(self):
        return self.store.network(self.project)[0]

    def free_address(self, last_octet=77):
        return self.subnet.cidr.rsplit('.', 1)[0] + '.%d' % last_octet

    def device_of(self, port_id):
        return self.store.device_of(port_id)

    def wait_detached(self, port_id):
        """The standalone service detaches before its 202."""

    def attached_ports(self):
        return set(self.store.ports_of(self.server))

    def network_of(self, port_id):
        row, _ = self.store.ports_of(self.server)[port_id]
        return row.network_id


class OpenStackSdkFlows:
    """openstack.connection.Connection(session=...).compute.

    The SDK discovers the compute API with an unauthenticated GET /v2.1/
    and negotiates min(2.70, server maximum) for server interfaces.
    """

    requires = ('openstacksdk',)

    def setUp(self):
        super().setUp()
        from openstack import connection
        self.conn = connection.Connection(session=self.session(),
                                          region_name=self.region)
        self.addCleanup(self.conn.close)
        self.compute = self.conn.compute

    def assertInterface(self, interface, port_id=None):
        if port_id is not None:
            self.assertEqual(port_id, interface.port_id)
        self.assertEqual(self.network, interface.net_id)
        self.assertEqual('ACTIVE', interface.port_state)
        self.assertRegex(interface.mac_addr, MAC)
        self.assertEqual(1, len(interface.fixed_ips))
        self.assertEqual(self.subnet_id, interface.fixed_ips[0]['subnet_id'])
        self.assertBound(interface.port_id)

    def test_negotiates_the_server_maximum(self):
        data = self.compute.get_endpoint_data()
        self.assertEqual((2, 1), data.min_microversion)
        self.assertEqual(self.max_microversion, data.max_microversion)

    def test_create_by_port_then_list_get_delete(self):
        port = self.new_port()
        created = self.compute.create_server_interface(self.server,
                                                       port_id=port)
        self.assertInterface(created, port)
        self.assertEqual(self.server, created.server_id)

        listed = list(self.compute.server_interfaces(self.server))
        self.assertEqual([port], [i.port_id for i in listed])
        self.assertEqual(created.mac_addr, listed[0].mac_addr)
        self.assertEqual(created.fixed_ips, listed[0].fixed_ips)

        shown = self.compute.get_server_interface(port, server=self.server)
        self.assertInterface(shown, port)
        self.assertEqual(created.fixed_ips, shown.fixed_ips)
        self.assertEqual(created.mac_addr, shown.mac_addr)

        self.compute.delete_server_interface(port, server=self.server,
                                             ignore_missing=False)
        self.assertFree(port)
        self.assertEqual([], list(self.compute.server_interfaces(
            self.server)))

    def test_create_by_network(self):
        created = self.compute.create_server_interface(self.server,
                                                       net_id=self.network)
        self.assertInterface(created)
        self.assertEqual({created.port_id}, self.attached_ports())

    def test_create_with_fixed_ip(self):
        address = self.free_address()
        created = self.compute.create_server_interface(
            self.server, net_id=self.network,
            fixed_ips=[{'ip_address': address}])
        self.assertInterface(created)
        self.assertEqual(address, created.fixed_ips[0]['ip_address'])

    def test_create_with_tag_at_2_70(self):
        created = self.compute.create_server_interface(
            self.server, net_id=self.network, tag='sdk-tag')
        self.assertInterface(created)
        self.assertEqual('sdk-tag', created.tag)
        listed = list(self.compute.server_interfaces(self.server))
        self.assertEqual(['sdk-tag'], [i.tag for i in listed])
        shown = self.compute.get_server_interface(created.port_id,
                                                  server=self.server)
        self.assertEqual('sdk-tag', shown.tag)

    def test_delete_of_a_port_not_attached(self):
        from openstack import exceptions
        port = self.new_port()
        if not self.unattached_detach_is_404:
            # Stock Nova: 202, and nova-compute's detach fails later.
            self.assertIsNone(self.compute.delete_server_interface(
                port, server=self.server, ignore_missing=False))
            self.assertEqual('', self.device_of(port))
            return
        self.assertRaises(exceptions.NotFoundException,
                          self.compute.delete_server_interface, port,
                          server=self.server, ignore_missing=False)
        # ignore_missing (the default) swallows the 404.
        self.assertIsNone(self.compute.delete_server_interface(
            port, server=self.server))


class OpenStackSdkTest(OpenStackSdkFlows, PeersClientTestCase):

    resources = base.resources_for(*OpenStackSdkFlows.requires)


class NovaClientFlows:
    """novaclient.client.Client('2.X', session=...).servers."""

    requires = ('python-novaclient',)

    def setUp(self):
        super().setUp()
        # novaclient warns when a response lacks the microversion header.
        self.logger = self.useFixture(fixtures.FakeLogger(
            name='novaclient', level=logging.WARNING))

    def nova(self, version, **kwargs):
        from novaclient import client
        return client.Client(version, session=self.session(),
                             region_name=self.region, **kwargs)

    def _attach_list_detach(self, nova, tag):
        port = self.new_port()
        kwargs = {'tag': tag} if tag else {}
        attached = nova.servers.interface_attach(
            self.server, port_id=port, net_id=None, fixed_ip=None, **kwargs)
        self.assertEqual(port, attached.port_id)
        self.assertEqual(self.network, attached.net_id)
        self.assertEqual('ACTIVE', attached.port_state)
        self.assertBound(port)
        self.assertRegex(attached.request_ids[0], r'^req-')

        listed = nova.servers.interface_list(self.server)
        self.assertEqual([port], [i.port_id for i in listed])
        self.assertEqual(port, listed[0].id)
        if tag:
            self.assertEqual(tag, attached.tag)
            self.assertEqual(tag, listed[0].tag)
        else:
            # (hasattr would make novaclient fetch the "missing" attribute)
            self.assertNotIn('tag', attached.to_dict())
            self.assertNotIn('tag', listed[0].to_dict())

        result = nova.servers.interface_detach(self.server, port)
        self.assertRegex(result.request_ids[0], r'^req-')
        self.assertFree(port)
        self.assertEqual([], nova.servers.interface_list(self.server))
        self.assertNotIn('header is missing', self.logger.output)

    def test_attach_list_detach_pinned_at_2_70(self):
        self._attach_list_detach(self.nova('2.70'), tag='nova-tag')

    def test_attach_list_detach_pinned_at_2_1(self):
        self._attach_list_detach(self.nova('2.1'), tag=None)

    def test_attach_by_network_with_fixed_ip(self):
        nova = self.nova('2.70')
        address = self.free_address(78)
        attached = nova.servers.interface_attach(
            self.server, port_id=None, net_id=self.network,
            fixed_ip=address)
        self.assertEqual(self.network, attached.net_id)
        self.assertEqual([{'subnet_id': self.subnet_id,
                           'ip_address': address}], attached.fixed_ips)
        self.assertIsNone(attached.tag)
        self.assertBound(attached.port_id)

    def test_discovers_the_version_on_a_project_endpoint(self):
        """A legacy catalog URL: GET /v2.1/{project_id} with a token."""
        from novaclient import api_versions
        endpoint = '%s/%s' % (self.compute_url, self.project)
        nova = self.nova('2.1', endpoint_override=endpoint)
        import novaclient
        expected = min(api_versions.APIVersion('%d.%d'
                                               % self.max_microversion),
                       novaclient.API_MAX_VERSION)
        self.assertEqual(expected, api_versions.discover_version(
            nova, api_versions.APIVersion('2.latest')))
        self._attach_list_detach(self.nova('2.70', endpoint_override=(
            endpoint)), tag='project-url')


class NovaClientTest(NovaClientFlows, PeersClientTestCase):

    resources = base.resources_for(*NovaClientFlows.requires)


class OpenStackClientFlows:
    """The ``openstack`` command; the server given by name and by id.

    ``os_environ()`` is the command's environment. Without a network
    service in the catalog, openstackclient takes the port and network
    arguments as ids, as it is told; with one, it looks them up.
    """

    requires = ('python-openstackclient',)

    def openstack(self, *args):
        command = os.path.join(peer_fixtures.BIN_DIR, 'openstack')
        argv = ([command] if os.path.exists(command)
                else [sys.executable, '-m', 'openstackclient.shell'])
        result = subprocess.run(
            argv + list(args), env=self.os_environ(),
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=120)
        self.assertEqual(0, result.returncode,
                         'openstack %s failed:\n%s%s'
                         % (' '.join(args), result.stdout, result.stderr))
        return result.stdout

    def server_ref(self, by):
        return self.server_name if by == 'name' else self.server

    def _add_port(self, by):
        port = self.new_port()
        self.openstack('server', 'add', 'port', self.server_ref(by), port)
        self.assertBound(port)
        self.assertEqual({port}, self.attached_ports())

    def test_server_add_port_by_name(self):
        self._add_port('name')

    def test_server_add_port_by_id(self):
        self._add_port('id')

    def test_server_add_port_with_tag_at_2_49(self):
        port = self.new_port()
        self.openstack('--os-compute-api-version', '2.49', 'server', 'add',
                       'port', '--tag', 'osc-tag', self.server, port)
        self.assertBound(port)
        _, _, body = peer_fixtures.http_request(
            '%s/servers/%s/os-interface/%s' % (self.compute_url,
                                               self.server, port),
            token=self.session().get_token(),
            headers={'OpenStack-API-Version': 'compute 2.70'})
        self.assertEqual('osc-tag', body['interfaceAttachment']['tag'])

    def _add_network(self, by):
        self.openstack('server', 'add', 'network', self.server_ref(by),
                       self.network)
        ports = self.attached_ports()
        self.assertEqual(1, len(ports))
        self.assertEqual(self.network, self.network_of(ports.pop()))

    def test_server_add_network_by_name(self):
        self._add_network('name')

    def test_server_add_network_by_id(self):
        self._add_network('id')

    def _add_fixed_ip(self, by):
        address = self.free_address()
        shown = json.loads(self.openstack(
            'server', 'add', 'fixed', 'ip', '--fixed-ip-address', address,
            '-f', 'json', self.server_ref(by), self.network))
        self.assertEqual(self.server, shown['Server ID'])
        self.assertEqual(self.network, shown['Network ID'])
        self.assertEqual('ACTIVE', shown['Port State'])
        self.assertRegex(shown['MAC Address'], MAC)
        self.assertEqual([{'subnet_id': self.subnet_id,
                           'ip_address': address}], shown['Fixed IPs'])
        self.assertBound(shown['Port ID'])

    def test_server_add_fixed_ip_by_name(self):
        self._add_fixed_ip('name')

    def test_server_add_fixed_ip_by_id(self):
        self._add_fixed_ip('id')

    def _remove_port(self, by):
        port = self.new_port()
        kept = self.new_port()
        self.attach(self.server, port_id=port)
        self.attach(self.server, port_id=kept)
        self.openstack('server', 'remove', 'port', self.server_ref(by), port)
        self.assertFree(port)
        self.assertEqual({kept}, self.attached_ports())

    def test_server_remove_port_by_name(self):
        self._remove_port('name')

    def test_server_remove_port_by_id(self):
        self._remove_port('id')

    def _remove_network(self, by):
        first = self.new_port()
        second = self.new_port()
        kept = self.new_port(self.new_network())
        for port in (first, second, kept):
            self.attach(self.server, port_id=port)
        self.openstack('server', 'remove', 'network', self.server_ref(by),
                       self.network)
        self.assertFree(first)
        self.assertFree(second)
        self.assertEqual({kept}, self.attached_ports())

    def test_server_remove_network_by_name(self):
        self._remove_network('name')

    def test_server_remove_network_by_id(self):
        self._remove_network('id')


class OpenStackClientTest(OpenStackClientFlows, PeersClientTestCase):

    resources = base.resources_for(*OpenStackClientFlows.requires)

    def os_environ(self):
        return self.peers.os_environ(self.user)
