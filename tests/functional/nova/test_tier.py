"""The Nova tier works: a real Nova 34 attaches and detaches.

One ``NovaCloud`` serves the class (started in setUpClass, about a minute
and a half). Through the stock nova-api (no interface-attach filter):
attach a free port, list, detach; a failing driver attach rolls back; a
host that cannot hot-plug is refused. Through the filtered nova-api: Nova's
paths pass through and os-interface is answered by the filter.
"""

import time

import testtools

from tests.functional.nova import fake_virt
from tests.functional.nova import fixtures as nova_fixtures


def interfaces_url(server_id, port_id=None):
    url = '/v2.1/servers/%s/os-interface' % server_id
    return url if port_id is None else '%s/%s' % (url, port_id)


class NovaTierTest(testtools.TestCase):

    cloud = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        nova_fixtures.skip_unless_available()
        cloud = nova_fixtures.NovaCloud()
        cloud.setUp()
        cls.addClassCleanup(cloud.cleanUp)
        cls.cloud = cloud
        cls.network, _ = cloud.create_network(name='net-a')
        cls.server = cloud.boot_server(cloud.member_a, 'vm-a',
                                       network_id=cls.network['id'])

    def setUp(self):
        super().setUp()
        self.addOnException(self._attach_logs)

    def _attach_logs(self, exc_info):
        import testtools.content as content
        self.addDetail('nova-cloud-logs',
                       content.text_content(self.cloud.logs(4000)))

    def stock(self, method, path, body=None, token=None, **kwargs):
        return self.cloud.request('stock', method, path, body,
                                  token=token or self.cloud.member_a,
                                  **kwargs)

    def port_unbound(self, port_id):
        port = self.cloud.get_port(port_id)
        return (port is not None and not port['device_id']
                and not port['binding:host_id'])

    def test_cloud_started(self):
        self.assertEqual('ACTIVE', self.server['status'])
        # An admin sees the host.
        self.assertEqual(self.cloud.compute_host, self.cloud.get_server(
            self.server['id'], self.cloud.admin_a)['OS-EXT-SRV-ATTR:host'])
        boot_ports = self.cloud.neutron_ports(device_id=self.server['id'])
        self.assertEqual(1, len(boot_ports))
        self.assertEqual('ACTIVE', boot_ports[0]['status'])

    def test_attach_list_detach_port_stock(self):
        server_id = self.server['id']
        port = self.cloud.create_port(self.network['id'])
        started = time.monotonic()
        status, _, body = self.stock(
            'POST', interfaces_url(server_id),
            {'interfaceAttachment': {'port_id': port['id']}})
        attach_seconds = time.monotonic() - started
        self.assertEqual(200, status, body)
        self.assertEqual(port['id'], body['interfaceAttachment']['port_id'])
        self.assertLess(attach_seconds, 30)

        bound = self.cloud.wait_for(
            lambda: (lambda p: p if p['status'] == 'ACTIVE' else None)(
                self.cloud.get_port(port['id'])), 10, what='port ACTIVE')
        self.assertEqual(server_id, bound['device_id'])
        self.assertEqual(self.cloud.compute_host, bound['binding:host_id'])
        self.assertTrue(bound['device_owner'].startswith('compute:'))

        status, _, body = self.stock('GET', interfaces_url(server_id))
        self.assertEqual(200, status, body)
        self.assertIn(port['id'], [a['port_id'] for a in
                                   body['interfaceAttachments']])

        status, _, body = self.stock(
            'DELETE', interfaces_url(server_id, port['id']))
        self.assertEqual(202, status, body)
        self.cloud.wait_for(lambda: self.port_unbound(port['id']), 10,
                            what='port %s unbound' % port['id'])

    def test_failed_attach_rolls_back_stock(self):
        server_id = self.server['id']
        network, _ = self.cloud.create_network(
            name=fake_virt.FAIL_ATTACH_PREFIX + '-net', cidr='10.9.0.0/24')
        # By network: Nova creates the port, the driver fails, Nova
        # deletes it again before answering.
        status, _, body = self.stock(
            'POST', interfaces_url(server_id),
            {'interfaceAttachment': {'net_id': network['id']}})
        self.assertEqual(500, status, body)
        self.assertIn('computeFault', body)
        self.assertEqual([], self.cloud.neutron_ports(
            network_id=network['id']))
        # By port: the port stays, unbound.
        port = self.cloud.create_port(network['id'])
        status, _, body = self.stock(
            'POST', interfaces_url(server_id),
            {'interfaceAttachment': {'port_id': port['id']}})
        self.assertEqual(500, status, body)
        self.assertTrue(self.port_unbound(port['id']),
                        self.cloud.get_port(port['id']))
        status, _, body = self.stock('GET', interfaces_url(server_id))
        self.assertNotIn(port['id'], [a['port_id'] for a in
                                      body['interfaceAttachments']])

    def test_host_without_hot_plug_refuses_stock(self):
        cloud = self.cloud
        server = cloud.boot_server(cloud.admin_a, 'vm-noattach',
                                   host=cloud.noattach_host)
        self.addCleanup(cloud.delete_server, server['id'], wait=False)
        port = cloud.create_port(self.network['id'])
        status, _, body = self.stock(
            'POST', interfaces_url(server['id']),
            {'interfaceAttachment': {'port_id': port['id']}})
        self.assertEqual(400, status, body)
        self.assertIn('not supported', body['badRequest']['message'])
        self.assertTrue(self.port_unbound(port['id']))

    def test_filtered_api_wiring(self):
        cloud = self.cloud
        server_id = self.server['id']
        # Nova's own paths pass through the filter.
        status, _, body = cloud.request('filtered', 'GET',
                                        '/v2.1/servers/%s' % server_id)
        self.assertEqual(200, status, body)
        self.assertEqual(server_id, body['server']['id'])
        status, _, body = cloud.request('filtered', 'GET',
                                        '/v2.1/servers/detail')
        self.assertEqual(200, status, body)
        self.assertIn(server_id, [s['id'] for s in body['servers']])
        # os-interface is the filter's.
        status, headers, body = cloud.request(
            'filtered', 'GET', interfaces_url(server_id))
        lowered = {k.lower(): v for k, v in headers.items()}
        self.assertIn('x-openstack-request-id', lowered)
        self.assertIsInstance(body, dict, (status, body))
