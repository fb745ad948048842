"""The rest of the resource: list, show and detach, on every surface.

    GET    .../servers/{server_id}/os-interface            200 list
    GET    .../servers/{server_id}/os-interface/{port_id}  200 show, or 404
    DELETE .../servers/{server_id}/os-interface/{port_id}  202, empty body

under ``/v2/{project_id}`` (the spec), ``/v2.1/{project_id}`` and ``/v2.1``
(Nova v2.1). Each test is written once, in ``ResourceContract``, and runs
on each of the three prefixes. Faults assert status, fault name and exact
message, the request ids, and that the store is exactly as before.
"""

import sqlalchemy as sa

from interface_attach.db import tables
from tests.functional import base

NOT_ATTACHED = 'Instance {server} does not have a port with id {port}'
LOCKED = 'Instance {server} is locked'
NO_DRIVER = 'Network driver does not support this function.'


def denied(action):
    return ("Policy doesn't allow os_compute_api:os-attach-interfaces:%s "
            "to be performed." % action)


def detach_state(attr, state):
    return ("Cannot 'detach_interface' instance {server} while it is in "
            "%s %s" % (attr, state))


def policy_yaml(rules):
    return ('policy.yaml',
            ''.join('"%s": "%s"\n' % item for item in rules.items()))


def non_canonical(uuid):
    """Forms of a UUID that name the same thing: upper case, no hyphens."""
    return [uuid.upper(), uuid.replace('-', ''),
            uuid.upper().replace('-', '')]


class ResourceContract:
    """The tests; a subclass per surface says which prefix to call."""

    #: 'v2', 'v2.1/project' or 'v2.1' (see base.surface_prefix).
    surface = None

    # Requests on this test's surface

    def url(self, server_id, port_id=None, project=base.PROJECT):
        return base.resource_url(base.surface_prefix(self.surface, project),
                                 server_id, port_id)

    def list(self, server_id, token=None):
        return base.send(self, 'GET', self.url(server_id), token=token)

    def show(self, server_id, port_id, token=None):
        return base.send(self, 'GET', self.url(server_id, port_id),
                         token=token)

    def detach(self, server_id, port_id, token=None):
        return base.send(self, 'DELETE', self.url(server_id, port_id),
                         token=token)

    def attached(self, server_id, **attachment):
        """Attach on this surface; the 200 interfaceAttachment."""
        response = base.send(self, 'POST', self.url(server_id),
                             body={'interfaceAttachment': attachment})
        self.assertEqual(200, response.status_int, response.text)
        return response.json['interfaceAttachment']

    # Reads straight from the tables

    def port_exists(self, port_id):
        with self.service.database.reader() as conn:
            return conn.execute(sa.select(tables.ports.c.id).where(
                tables.ports.c.id == port_id)).first() is not None

    def allocated_ips(self):
        with self.service.database.reader() as conn:
            return sorted(conn.execute(
                sa.select(tables.ip_allocations.c.ip_address)).scalars())

    # Assertions

    def assertList(self, response, attachments):
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual('application/json', response.content_type)
        self.assertEqual({'interfaceAttachments': attachments},
                         response.json)
        self.assertRequestIds(response)

    def assertShow(self, response, attachment):
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual('application/json', response.content_type)
        self.assertEqual({'interfaceAttachment': attachment}, response.json)
        self.assertRequestIds(response)

    def assertDetached(self, response):
        """202, an empty body declared as JSON."""
        self.assertEqual(202, response.status_int, response.text)
        self.assertEqual(b'', response.body)
        self.assertEqual('0', response.headers['Content-Length'])
        self.assertEqual('application/json', response.content_type)
        self.assertRequestIds(response)

    def assertRefused(self, w, response, status, message, before):
        """The exact fault, with the store as it was before the request."""
        self.assertFault(response, status, w.fill(message))
        self.assertRequestIds(response)
        self.assertEqual(before, self.snapshot())

    # List

    def test_list_without_interfaces_is_empty(self):
        w = self.make_world()
        self.assertList(self.list(w.server), [])

    def test_list_one(self):
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        self.assertList(self.list(w.server), [attachment])
        self.assertEqual('10.0.0.2', attachment['fixed_ips'][0]['ip_address'])

    def test_list_several_in_attach_order(self):
        """Attach order, not the order in which the ports were created."""
        w = self.make_world()
        net2 = self.networks.create_network(w.project, 'second')
        self.networks.create_subnet(net2.id, '10.2.0.0/24')
        net3 = self.networks.create_network(w.project, 'third')
        self.networks.create_subnet(net3.id, '10.3.0.0/24')
        port3 = self.create_port(w.project, net3.id)

        first = self.attached(w.server, net_id=net2.id)   # newest port
        second = self.attached(w.server, port_id=port3.id)
        third = self.attached(w.server, port_id=w.port)   # oldest port
        self.assertList(self.list(w.server), [first, second, third])
        self.assertEqual([net2.id, net3.id, w.net],
                         [a['net_id'] for a in (first, second, third)])

    def test_list_has_only_this_servers_ports(self):
        w = self.make_world()
        other = self.servers.create(w.project, 'vm2')
        mine = self.attached(w.server, port_id=w.port)
        self.attached(other.id, net_id=w.net)
        self.assertList(self.list(w.server), [mine])

    def test_list_by_non_canonical_server_id(self):
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        for server_id in non_canonical(w.server):
            self.assertList(self.list(server_id), [attachment])

    def test_list_after_a_detach(self):
        w = self.make_world()
        net2 = self.networks.create_network(w.project, 'second')
        self.networks.create_subnet(net2.id, '10.2.0.0/24')
        kept = self.attached(w.server, net_id=net2.id)
        self.attached(w.server, port_id=w.port)
        self.assertDetached(self.detach(w.server, w.port))
        self.assertList(self.list(w.server), [kept])

    def test_list_with_the_noop_driver_is_501(self):
        self.start_service(options={'network': {'driver': 'noop'}})
        w = self.make_world()
        self.assertRefused(w, self.list(w.server), 501, NO_DRIVER,
                           self.snapshot())

    # Show

    def test_show_is_what_the_attach_answered(self):
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        self.assertShow(self.show(w.server, w.port), attachment)
        self.assertEqual(
            {'fixed_ips': [{'ip_address': '10.0.0.2',
                            'subnet_id': w.subnet}],
             'mac_addr': attachment['mac_addr'], 'net_id': w.net,
             'port_id': w.port, 'port_state': 'ACTIVE'},
            attachment)

    def test_show_a_port_the_attach_created(self):
        w = self.make_world()
        attachment = self.attached(w.server, net_id=w.net,
                                   fixed_ips=[{'ip_address': '10.0.0.77'}])
        self.assertShow(self.show(w.server, attachment['port_id']),
                        attachment)

    def test_show_by_non_canonical_ids(self):
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        for server_id, port_id in zip(non_canonical(w.server),
                                      non_canonical(w.port)):
            self.assertShow(self.show(server_id, port_id), attachment)

    def test_show_another_servers_port_is_404(self):
        w = self.make_world()
        other = self.servers.create(w.project, 'vm2')
        self.attached(other.id, port_id=w.port)
        self.assertRefused(w, self.show(w.server, w.port), 404,
                           NOT_ATTACHED, self.snapshot())

    def test_show_a_free_port_is_404(self):
        w = self.make_world()
        self.assertRefused(w, self.show(w.server, w.port), 404,
                           NOT_ATTACHED, self.snapshot())

    def test_show_a_port_that_does_not_exist_is_404(self):
        w = self.make_world()
        w.port = w.missing
        self.assertRefused(w, self.show(w.server, w.missing), 404,
                           NOT_ATTACHED, self.snapshot())

    def test_show_a_bogus_port_id_is_404(self):
        w = self.make_world()
        self.attached(w.server, port_id=w.port)
        w.port = 'not-a-port'
        self.assertRefused(w, self.show(w.server, 'not-a-port'), 404,
                           NOT_ATTACHED, self.snapshot())

    def test_show_a_detached_port_is_404(self):
        w = self.make_world()
        self.attached(w.server, port_id=w.port)
        self.assertDetached(self.detach(w.server, w.port))
        self.assertRefused(w, self.show(w.server, w.port), 404,
                           NOT_ATTACHED, self.snapshot())

    def test_show_on_a_missing_server_is_404(self):
        w = self.make_world()
        self.assertRefused(w, self.show(w.missing, w.port), 404,
                           'Instance {missing} could not be found.',
                           self.snapshot())

    # Detach

    def test_detach_is_202_with_an_empty_json_body(self):
        w = self.make_world()
        self.attached(w.server, port_id=w.port)
        self.assertDetached(self.detach(w.server, w.port))
        self.assertList(self.list(w.server), [])

    def test_detach_keeps_a_port_that_existed_before_the_attach(self):
        w = self.make_world()
        before, ips = self.port_of(w.port)
        self.attached(w.server, port_id=w.port)
        self.assertDetached(self.detach(w.server, w.port))

        port, ips_after = self.port_of(w.port)
        self.assertEqual(('', '', 'DOWN'),
                         (port.device_id, port.device_owner, port.status))
        self.assertEqual(ips, ips_after)
        self.assertEqual([{'ip_address': '10.0.0.2',
                           'subnet_id': w.subnet}], ips_after)
        self.assertEqual((before.mac_address, before.project_id,
                          before.network_id),
                         (port.mac_address, port.project_id,
                          port.network_id))
        self.assertEqual([], self.ports_bound_to(w.server))

    def test_detached_port_can_be_attached_again(self):
        w = self.make_world()
        first = self.attached(w.server, port_id=w.port)
        self.assertDetached(self.detach(w.server, w.port))
        again = self.attached(w.server, port_id=w.port)
        self.assertEqual(first, again)
        self.assertList(self.list(w.server), [again])

    def test_reassign_port_between_two_servers(self):
        """tempest test_reassign_port_between_servers."""
        w = self.make_world()
        other = self.servers.create(w.project, 'vm2')
        for server_id in (w.server, other.id, w.server):
            attachment = self.attached(server_id, port_id=w.port)
            self.assertEqual((w.port, w.net), (attachment['port_id'],
                                               attachment['net_id']))
            port, _ = self.port_of(w.port)
            self.assertEqual(server_id, port.device_id)
            self.assertShow(self.show(server_id, w.port), attachment)
            self.assertDetached(self.detach(server_id, w.port))
            port, ips = self.port_of(w.port)
            self.assertEqual('', port.device_id)
            self.assertEqual('10.0.0.2', ips[0]['ip_address'])

    def test_detach_deletes_a_port_the_attach_created_by_net_id(self):
        w = self.make_world()
        attachment = self.attached(w.server, net_id=w.net,
                                   fixed_ips=[{'ip_address': '10.0.0.77'}])
        self.assertIn('10.0.0.77', self.allocated_ips())
        self.assertDetached(self.detach(w.server, attachment['port_id']))

        self.assertFalse(self.port_exists(attachment['port_id']))
        self.assertEqual(['10.0.0.2'], self.allocated_ips())
        # The address is free: it can be asked for again.
        again = self.attached(w.server, net_id=w.net,
                              fixed_ips=[{'ip_address': '10.0.0.77'}])
        self.assertEqual([{'ip_address': '10.0.0.77', 'subnet_id': w.subnet}],
                         again['fixed_ips'])
        self.assertNotEqual(attachment['port_id'], again['port_id'])

    def test_detach_deletes_a_port_the_attach_created_without_network(self):
        w = self.make_world()
        attachment = self.attached(w.server)
        self.assertEqual('10.0.0.3', attachment['fixed_ips'][0]['ip_address'])
        self.assertDetached(self.detach(w.server, attachment['port_id']))

        self.assertFalse(self.port_exists(attachment['port_id']))
        self.assertEqual(['10.0.0.2'], self.allocated_ips())
        again = self.attached(w.server)
        self.assertEqual('10.0.0.3', again['fixed_ips'][0]['ip_address'])

    def test_detach_by_non_canonical_ids(self):
        w = self.make_world()
        for server_id, port_id in zip(non_canonical(w.server),
                                      non_canonical(w.port)):
            self.attached(w.server, port_id=w.port)
            self.assertDetached(self.detach(server_id, port_id))
            port, _ = self.port_of(w.port)
            self.assertEqual('', port.device_id)

    def test_admin_detaches_from_a_locked_server(self):
        w = self.make_world()
        self.attached(w.server, port_id=w.port)
        self.servers.set_locked(w.server, True)
        self.assertDetached(self.detach(w.server, w.port,
                                        token=base.admin()))
        self.assertEqual([], self.ports_bound_to(w.server))

    def test_detach_from_a_paused_or_stopped_server(self):
        w = self.make_world()
        for state in ('paused', 'stopped'):
            self.servers.set_state(w.server, vm_state=state)
            self.attached(w.server, port_id=w.port)
            self.assertDetached(self.detach(w.server, w.port))

    def _refused_detach(self, status, message, arrange=None, port=None,
                        token=None):
        """Attach the world's port, arrange, then a refused detach."""
        w = self.make_world()
        self.attached(w.server, port_id=w.port)
        if arrange is not None:
            arrange(w)
        before = self.snapshot()
        response = self.detach(w.server, w.fill(port or '{port}'),
                               token=token)
        self.assertRefused(w, response, status, message, before)
        return w

    def test_detach_a_free_port_is_404(self):
        def free_port(w):
            w.port = self.create_port(w.project, w.net).id
        self._refused_detach(404, NOT_ATTACHED, arrange=free_port)

    def test_detach_another_servers_port_is_404(self):
        def other_servers_port(w):
            other = self.servers.create(w.project, 'vm2')
            net = self.networks.create_network(w.project, 'second')
            self.networks.create_subnet(net.id, '10.2.0.0/24')
            w.port = self.attached(other.id, net_id=net.id)['port_id']
        w = self._refused_detach(404, NOT_ATTACHED,
                                 arrange=other_servers_port)
        self.assertEqual(1, len(self.ports_bound_to(w.server)))

    def test_detach_a_bogus_port_id_is_404(self):
        def bogus(w):
            w.port = 'not-a-port'
        self._refused_detach(404, NOT_ATTACHED, arrange=bogus)

    def test_detach_twice_is_404(self):
        def detached(w):
            self.assertDetached(self.detach(w.server, w.port))
        self._refused_detach(404, NOT_ATTACHED, arrange=detached)

    def test_detach_on_a_missing_server_is_404(self):
        def gone(w):
            w.server = w.missing
        self._refused_detach(404, 'Instance {missing} could not be found.',
                             arrange=gone)

    def test_detach_on_a_locked_server_is_409(self):
        def lock(w):
            self.servers.set_locked(w.server, True)
        self._refused_detach(409, LOCKED, arrange=lock)

    def test_detach_in_an_invalid_state_is_409(self):
        for attr, state in (('vm_state', 'building'),
                            ('vm_state', 'error'),
                            ('vm_state', 'suspended'),
                            ('task_state', 'deleting')):
            def arrange(w):
                self.servers.set_state(w.server, **{attr: state})
            self._refused_detach(409, detach_state(attr, state),
                                 arrange=arrange)

    def test_lock_before_state_on_detach(self):
        def locked_and_building(w):
            self.servers.set_locked(w.server, True)
            self.servers.set_state(w.server, vm_state='building')
        self._refused_detach(409, LOCKED, arrange=locked_and_building)

    def test_lock_before_the_port_on_detach(self):
        """As Nova: the lock and state checks come before the port's."""
        def locked(w):
            self.servers.set_locked(w.server, True)
            w.port = w.missing
        self._refused_detach(409, LOCKED, arrange=locked)

    # Policy

    def test_reader_lists_and_shows(self):
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        reader = base.token(w.project, 'rita', 'reader')
        self.assertList(self.list(w.server, token=reader), [attachment])
        self.assertShow(self.show(w.server, w.port, token=reader),
                        attachment)

    def test_reader_cannot_detach(self):
        self._refused_detach(403, denied('delete'),
                             token=base.token(base.PROJECT, 'rita',
                                              'reader'))

    def test_policy_file_restricts_list_show_delete_to_admins(self):
        self.start_service(policy=policy_yaml(
            {'os_compute_api:os-attach-interfaces:%s' % action: 'role:admin'
             for action in ('list', 'show', 'delete')}))
        w = self.make_world()
        attachment = self.attached(w.server, port_id=w.port)
        before = self.snapshot()
        self.assertRefused(w, self.list(w.server), 403, denied('list'),
                           before)
        self.assertRefused(w, self.show(w.server, w.port), 403,
                           denied('show'), before)
        self.assertRefused(w, self.detach(w.server, w.port), 403,
                           denied('delete'), before)

        admin = base.admin()
        self.assertList(self.list(w.server, token=admin), [attachment])
        self.assertShow(self.show(w.server, w.port, token=admin), attachment)
        self.assertDetached(self.detach(w.server, w.port, token=admin))

    def test_policy_denial_comes_after_the_server_lookup(self):
        self.start_service(policy=policy_yaml(
            {'os_compute_api:os-attach-interfaces:show': '!'}))
        w = self.make_world()
        self.assertRefused(w, self.show(w.missing, w.port), 404,
                           'Instance {missing} could not be found.',
                           self.snapshot())


class TestResourceOnV2(ResourceContract, base.FunctionalTestCase):
    """/v2/{project_id}: the spec's surface."""

    surface = 'v2'


class TestResourceOnV21WithProject(ResourceContract,
                                   base.FunctionalTestCase):
    """/v2.1/{project_id}: Nova v2.1 with the project in the URL."""

    surface = 'v2.1/project'


class TestResourceOnV21(ResourceContract, base.FunctionalTestCase):
    """/v2.1: Nova v2.1 without the project in the URL."""

    surface = 'v2.1'
