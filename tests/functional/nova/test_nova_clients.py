"""The real clients through nova-api with Keystone, on real Nova servers.

The flows of ``tests/functional/peers/test_clients.py`` (openstacksdk,
python-novaclient, python-openstackclient), the same assertions, run
against the nova-api with the filter (region ``RegionOne`` of the catalog)
and against stock nova-api (``RegionTwo``) of the shared Keystone-mode
``NovaCloud``: each client has the same outcome on both. Ports and
networks are Neutron's; a detach is over when Neutron's port has no
``device_id`` any more (Nova's detach is a cast).
"""

import itertools
import unittest

import testtools
from testtools import content

from tests.functional.nova import fixtures as nova_fixtures
from tests.functional.nova import keystone as keystone_fixtures
from tests.functional.peers import fixtures as peer_fixtures
from tests.functional.peers import test_clients

# Each test's network has a /24 of its own.
_subnets = itertools.count(1)


class NovaClientCase(test_clients.ClientFlows):
    """A server per class (booting costs seconds), a network per test."""

    api = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        missing = peer_fixtures.missing_packages(*cls.requires)
        if missing:
            raise unittest.SkipTest('not installed: %s' % ', '.join(missing))
        cls.cloud = nova_fixtures.KEYSTONE_CLOUD.acquire()
        cls.addClassCleanup(nova_fixtures.KEYSTONE_CLOUD.release)
        cls.project = cls.cloud.project_a
        cls.server_name = peer_fixtures.unique(cls.__name__.lower())
        cls.server = cls.cloud.boot_server(cls.cloud.member_a,
                                           cls.server_name)['id']
        cls.addClassCleanup(cls.cloud.delete_server, cls.server, wait=False)
        status, _, body = cls.cloud.request(cls.api, 'GET', '/v2.1/')
        cls.max_microversion = tuple(
            int(part) for part in body['version']['version'].split('.'))
        cls.region = keystone_fixtures.REGIONS[cls.api]
        cls.compute_url = cls.cloud.url(cls.api) + '/v2.1'

    def setUp(self):
        super().setUp()
        self.addOnException(lambda exc_info: self.addDetail(
            'nova-cloud-logs', content.text_content(self.cloud.logs(4000))))
        self.network, subnet = self.create_network()
        self.subnet_id = subnet['id']
        self.prefix = subnet['cidr'].rsplit('.', 1)[0]
        # The next test finds the class's server with no interface.
        self.addCleanup(self.detach_all)

    def create_network(self):
        n = next(_subnets)
        network, subnet = self.cloud.create_network(
            name=peer_fixtures.unique('net'),
            cidr='10.%d.%d.0/24' % (100 + n // 256, n % 256))
        return network['id'], subnet

    def session(self):
        return self.cloud.keystone.session(self.user)

    def os_environ(self):
        return self.cloud.keystone.os_environ(self.user, self.api)

    def new_port(self, network_id=None):
        return self.cloud.create_port(network_id or self.network)['id']

    def new_network(self):
        return self.create_network()[0]

    def free_address(self, last_octet=77):
        return '%s.%d' % (self.prefix, last_octet)

    def device_of(self, port_id):
        """Neutron's device_id; None once the port is gone."""
        port = self.cloud.get_port(port_id)
        return None if port is None else port['device_id']

    def wait_detached(self, port_id):
        self.cloud.wait_for(lambda: not self.device_of(port_id), 30,
                            what='port %s detached' % port_id)

    def attached_ports(self):
        return {port['id'] for port in
                self.cloud.neutron_ports(device_id=self.server)}

    def network_of(self, port_id):
        return self.cloud.get_port(port_id)['network_id']

    def detach_all(self):
        for port_id in self.attached_ports():
            self.cloud.request(
                'stock', 'DELETE', '/v2.1/servers/%s/os-interface/%s'
                % (self.server, port_id), token=self.cloud.admin_a)
        for port_id in self.attached_ports():
            self.wait_detached(port_id)


class FilteredSdkTest(test_clients.OpenStackSdkFlows, NovaClientCase,
                      testtools.TestCase):
    api = 'filtered'


class StockSdkTest(FilteredSdkTest):
    api = 'stock'
    unattached_detach_is_404 = False


class FilteredNovaClientTest(test_clients.NovaClientFlows, NovaClientCase,
                             testtools.TestCase):
    api = 'filtered'


class StockNovaClientTest(FilteredNovaClientTest):
    api = 'stock'


class FilteredOpenStackClientTest(test_clients.OpenStackClientFlows,
                                  NovaClientCase, testtools.TestCase):
    api = 'filtered'


class StockOpenStackClientTest(FilteredOpenStackClientTest):
    api = 'stock'
