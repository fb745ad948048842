"""The filter inside a real nova-api with Keystone in front: the role matrix.

The shared Keystone-mode ``NovaCloud`` serves the class: auth_token in
both nova-api services and in Neutron, Nova's service user sending its
token with the user's. Every cell of admin, member, reader and a member of
another project over list, show, create and delete, on /v2 and /v2.1,
through the filtered nova-api, asserted; the same cells through stock
nova-api give the same answers (on /v2 too, where the spec and Nova agree
on these codes).
"""

import testtools
from testtools import content

from tests.functional.nova import fixtures as nova_fixtures

CALLERS = ('admin_a', 'member_a', 'reader_a', 'member_b')
#: Nova's defaults for os_compute_api:os-attach-interfaces:*, ours too:
#: readers of the project list and show, members create and delete; the
#: server of another project is absent (404) to its caller.
EXPECTED = {
    'list': {'admin_a': 200, 'member_a': 200, 'reader_a': 200,
             'member_b': 404},
    'show': {'admin_a': 200, 'member_a': 200, 'reader_a': 200,
             'member_b': 404},
    'create': {'admin_a': 200, 'member_a': 200, 'reader_a': 403,
               'member_b': 404},
    'delete': {'admin_a': 202, 'member_a': 202, 'reader_a': 403,
               'member_b': 404},
}
FAULTS = {403: 'forbidden', 404: 'itemNotFound'}
VIEW = {'fixed_ips', 'mac_addr', 'net_id', 'port_id', 'port_state'}


class NovaKeystoneTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud = cloud = nova_fixtures.KEYSTONE_CLOUD.acquire()
        cls.addClassCleanup(nova_fixtures.KEYSTONE_CLOUD.release)
        cls.net, _ = cloud.create_network(name='net-a')
        cls.servers = {api: cloud.boot_server(cloud.member_a, 'vm-' + api,
                                              wait=False)
                       for api in cloud.APIS}
        cls.servers = {api: cloud.wait_for_server(server['id'])['id']
                       for api, server in cls.servers.items()}

    def setUp(self):
        super().setUp()
        self.addOnException(lambda exc_info: self.addDetail(
            'nova-cloud-logs', content.text_content(self.cloud.logs(4000))))

    def path(self, surface, caller, server_id, port_id=None):
        project = (self.cloud.project_b if caller == 'member_b'
                   else self.cloud.project_a)
        prefix = '/v2/%s' % project if surface == 'v2' else '/v2.1'
        path = '%s/servers/%s/os-interface' % (prefix, server_id)
        return path if port_id is None else '%s/%s' % (path, port_id)

    def cell(self, api, surface, caller, operation, port_id):
        """(status, body) of one operation by one caller."""
        cloud = self.cloud
        server_id = self.servers[api]
        method, body, port = {
            'list': ('GET', None, None),
            'show': ('GET', None, port_id),
            'create': ('POST', {'interfaceAttachment': {'port_id': port_id}},
                       None),
            'delete': ('DELETE', None, port_id),
        }[operation]
        status, headers, answer = cloud.request(
            api, method, self.path(surface, caller, server_id, port),
            body, token=cloud.tokens[caller])
        return status, answer

    def assertCell(self, api, surface, caller, operation, answer):
        status, body = answer
        where = '%s %s %s %s: %s' % (api, surface, caller, operation, body)
        expected = EXPECTED[operation][caller]
        self.assertEqual(expected, status, where)
        if status in FAULTS:
            message = (
                "Policy doesn't allow os_compute_api:os-attach-interfaces:"
                "%s to be performed." % operation if status == 403
                else 'Instance %s could not be found.' % self.servers[api])
            self.assertEqual(
                {FAULTS[status]: {'code': status, 'message': message}},
                body, where)
        elif operation == 'list':
            self.assertTrue(body['interfaceAttachments'], where)
        elif operation in ('show', 'create'):
            self.assertEqual(VIEW, set(body['interfaceAttachment']), where)
        else:
            self.assertIsNone(body, where)

    def wait_gone(self, api, port_id):
        """Until the port leaves the server's list (detach is a cast)."""
        def gone():
            status, body = self.cell(api, 'v2.1', 'admin_a', 'list', None)
            return port_id not in [a['port_id'] for a in
                                   body['interfaceAttachments']]
        self.cloud.wait_for(gone, 30, what='port %s detached' % port_id)

    def run_matrix(self, api, surface):
        """Every cell, in an order that leaves each one's premise true.

        Refused creates try a free port; admin's and member's attach one
        each. Then list and show (of admin's port) for everyone; refused
        deletes try admin's port, member's and admin's deletes succeed.
        """
        cloud = self.cloud
        free = cloud.create_port(self.net['id'])['id']
        ports = {'admin_a': cloud.create_port(self.net['id'])['id'],
                 'member_a': cloud.create_port(self.net['id'])['id']}
        answers = {}
        for caller in CALLERS:
            port = ports.get(caller, free)
            answers[caller, 'create'] = self.cell(api, surface, caller,
                                                  'create', port)
            self.assertCell(api, surface, caller, 'create',
                            answers[caller, 'create'])
        for operation in ('list', 'show'):
            for caller in CALLERS:
                answers[caller, operation] = self.cell(
                    api, surface, caller, operation, ports['admin_a'])
                self.assertCell(api, surface, caller, operation,
                                answers[caller, operation])
        for caller in ('reader_a', 'member_b', 'member_a', 'admin_a'):
            port = ports.get(caller, ports['admin_a'])
            answers[caller, 'delete'] = self.cell(api, surface, caller,
                                                  'delete', port)
            self.assertCell(api, surface, caller, 'delete',
                            answers[caller, 'delete'])
        for port in ports.values():
            self.wait_gone(api, port)
        # A refused create left the free port as it was.
        self.assertEqual('', cloud.get_port(free)['device_id'])
        return answers

    def comparable(self, answers):
        """What must match between two nova-api services: codes, faults."""
        return {cell: (status, body if status >= 400 else None)
                for cell, (status, body) in answers.items()}

    def _matrix(self, surface):
        filtered = self.run_matrix('filtered', surface)
        stock = self.run_matrix('stock', surface)
        # The server differs (one per nova-api): name it alike.
        stock_text = str(self.comparable(stock)).replace(
            self.servers['stock'], self.servers['filtered'])
        self.assertEqual(str(self.comparable(filtered)), stock_text)

    def test_role_matrix_on_v2_1(self):
        self._matrix('v2.1')

    def test_role_matrix_on_v2(self):
        self._matrix('v2')

    def test_a_port_nova_created_is_deleted_at_detach(self):
        """Neutron 29 deletes a compute port for Nova's service token only.

        The member's token alone is refused; Nova sends its service token
        with it (``send_service_user_token``).
        """
        cloud = self.cloud
        server_id = self.servers['filtered']
        status, _, body = cloud.request(
            'filtered', 'POST', '/v2.1/servers/%s/os-interface' % server_id,
            {'interfaceAttachment': {'net_id': self.net['id']}},
            token=cloud.member_a)
        self.assertEqual(200, status, body)
        port_id = body['interfaceAttachment']['port_id']
        self.assertEqual(server_id, cloud.get_port(port_id)['device_id'])
        # The member's own token may not delete a compute port.
        status, body = cloud.neutron.request(
            'DELETE', '/v2.0/ports/%s' % port_id,
            headers={'X-Auth-Token': cloud.member_a})
        self.assertEqual(403, status, body)
        self.assertIsNotNone(cloud.get_port(port_id))
        status, _, _ = cloud.request(
            'filtered', 'DELETE', '/v2.1/servers/%s/os-interface/%s'
            % (server_id, port_id), token=cloud.member_a)
        self.assertEqual(202, status)
        cloud.wait_for(lambda: cloud.get_port(port_id) is None, 30,
                       what='port %s deleted' % port_id)
        self.assertEqual('ACTIVE', cloud.get_server(server_id)['status'])

    def test_a_request_without_a_valid_token_is_401(self):
        server_id = self.servers['filtered']
        for api in self.cloud.APIS:
            for surface in ('v2', 'v2.1'):
                status, _, _ = self.cloud.request(
                    api, 'GET', self.path(surface, 'member_a', server_id),
                    token='not-a-token')
                self.assertEqual(401, status, (api, surface))
