"""Nova mode's compute service, with Nova's compute API and Neutron faked.

What it must do before and around the RPC, in-process and deterministic:
refusals made before any call to Nova, one winner when attaches of one
port overlap, Nova's errors as ours, and nothing left by a failed attach.
The real-Nova tier (tests/functional/nova) proves the same end to end.
"""

import datetime
import threading
import time
import types
import unittest

from oslotest import base

from interface_attach.api import paste
from interface_attach import exception
from interface_attach.network import base as network_base
from interface_attach import recovery
from tests import fixtures as ia_fixtures
from tests.unit import test_recovery

try:
    from nova import exception as nova_exception
    import oslo_messaging

    from interface_attach.nova import compute as nova_compute
except ImportError as e:  # Nova is an optional dependency.
    raise unittest.SkipTest('Nova is not importable (%s): pip install '
                            'nova to run the Nova mode tests' % e)

PROJECT = 'p1'
OTHER = 'p2'
SERVER = '11111111-1111-4111-8111-111111111111'
NET = '22222222-2222-4222-8222-222222222222'
NET2 = '33333333-3333-4333-8333-333333333333'


class FakeNeutron(network_base.NetworkDriver):
    """Ports and networks in memory, read as the neutron driver reads."""

    def __init__(self):
        self.ports = {}
        self.networks = {}

    def add_network(self, net_id, project_id=PROJECT):
        self.networks[net_id] = network_base.Network(net_id, project_id,
                                                     'net', False)

    def add_port(self, port_id, network_id=NET, project_id=PROJECT,
                 device_id=''):
        self.ports[port_id] = network_base.Port(
            port_id, project_id, network_id, 'fa:16:3e:00:00:01', device_id,
            'DOWN', ({'subnet_id': 's', 'ip_address': '10.0.0.5'},))

    def bind(self, port_id, device_id):
        port = self.ports[port_id]
        self.ports[port_id] = port.__class__(**dict(
            port.__dict__, device_id=device_id,
            status='ACTIVE' if device_id else 'DOWN'))

    def get_port(self, port_id):
        try:
            return self.ports[port_id]
        except KeyError:
            raise exception.PortNotFound(port_id=port_id)

    def list_server_ports(self, server):
        return [p for p in self.ports.values() if p.device_id == server.id]

    def get_network(self, network_id, project_id):
        network = self.networks.get(network_id)
        if network is None or network.project_id != project_id:
            raise exception.NetworkNotFound(network_id=network_id)
        return network

    def list_available_networks(self, project_id):
        return [n for n in self.networks.values()
                if n.project_id == project_id]

    def release_port(self, port_id, server):
        if self.ports[port_id].device_id == server.id:
            self.bind(port_id, '')

    def delete_port(self, port_id):
        self.ports.pop(port_id, None)


class FakeNovaAPI:
    """nova.compute.api.API's get, attach_interface, detach_interface."""

    def __init__(self, neutron):
        self.neutron = neutron
        self.instances = {}
        self.attach_calls = []
        self.detach_calls = []
        # What attach_interface does: bind (the default), or raise this.
        self.attach_error = None
        self.leave_bound = False
        self.in_attach = threading.Event()
        self.release_attach = threading.Event()
        self.release_attach.set()

    def add_instance(self, uuid=SERVER, project_id=PROJECT, **values):
        context = types.SimpleNamespace(elevated=lambda: 'cell-admin')
        attrs = dict(uuid=uuid, project_id=project_id, locked=False,
                     vm_state='active', task_state=None, host='compute-1',
                     launched_at=datetime.datetime(2026, 1, 1),
                     _context=context)
        attrs.update(values)
        self.instances[uuid] = types.SimpleNamespace(**attrs)

    def get(self, context, server_id, expected_attrs=None):
        if server_id not in self.instances:
            raise nova_exception.InstanceNotFound(instance_id=server_id)
        return self.instances[server_id]

    def attach_interface(self, context, instance, network_id, port_id,
                         requested_ip, tag=None):
        self.attach_calls.append((instance.uuid, network_id, port_id))
        self.in_attach.set()
        self.release_attach.wait(10)
        if port_id is None:
            port_id = 'created-%d' % len(self.attach_calls)
            self.neutron.add_port(port_id, network_id)
        if self.attach_error is not None:
            if self.leave_bound:
                self.neutron.bind(port_id, instance.uuid)
            raise self.attach_error
        self.neutron.bind(port_id, instance.uuid)
        return {'id': port_id}

    def detach_interface(self, context, instance, port_id):
        self.detach_calls.append((instance.uuid, port_id))


class ComputeHosts:
    """servicegroup.API: whether the compute host is up."""

    up = True

    def service_is_up(self, service):
        return self.up


class NovaComputeTest(base.BaseTestCase):

    duplicates = True

    def setUp(self):
        super().setUp()
        service = self.useFixture(ia_fixtures.ServiceFixture(options={
            'network': {'allow_duplicate_networks': str(self.duplicates)}}))
        database = paste.Services(service.conf).database
        self.addCleanup(database.dispose)
        self.neutron = FakeNeutron()
        self.neutron.add_network(NET)
        self.nova = FakeNovaAPI(self.neutron)
        self.nova.add_instance()
        self.hosts = ComputeHosts()
        nova_compute.objects.register_all()
        self.compute = nova_compute.NovaComputeService(
            database, self.neutron, self.duplicates, nova_api=self.nova,
            servicegroup_api=self.hosts)
        self.fixture(nova_compute.objects.Service, 'get_by_compute_host',
                     lambda context, host: host)
        self.server = self.compute.get_server('ctx', SERVER)

    def fixture(self, owner, name, value):
        original = getattr(owner, name)
        setattr(owner, name, value)
        self.addCleanup(setattr, owner, name, original)

    def attach(self, **kwargs):
        return self.compute.attach_interface(self.server, **kwargs)

    def assert_refused_before_rpc(self, error, **kwargs):
        self.assertRaises(error, self.attach, **kwargs)
        self.assertEqual([], self.nova.attach_calls)
        self.assertEqual([], self.compute.attachments.in_flight())

    def test_attach_by_port_binds_through_nova(self):
        self.neutron.add_port('port-1')
        port = self.attach(port_id='port-1')
        self.assertEqual(SERVER, port.device_id)
        self.assertEqual([(SERVER, NET, 'port-1')], self.nova.attach_calls)
        self.assertEqual([], self.compute.attachments.in_flight())

    def test_refusals_are_made_before_any_rpc(self):
        self.neutron.add_port('in-use', device_id='another-server')
        self.neutron.add_port('foreign', project_id=OTHER)
        self.assert_refused_before_rpc(exception.PortNotFound,
                                       port_id='missing')
        self.assert_refused_before_rpc(exception.PortInUse, port_id='in-use')
        self.assert_refused_before_rpc(exception.PortNotUsable,
                                       port_id='foreign')
        self.assert_refused_before_rpc(exception.NetworkNotFound,
                                       network_id=NET2)

    def test_no_network_or_several_are_refused_before_any_rpc(self):
        self.neutron.networks.clear()
        self.assert_refused_before_rpc(exception.NoNetworkAvailable)
        self.neutron.add_network(NET)
        self.neutron.add_network(NET2)
        self.assert_refused_before_rpc(exception.NetworkAmbiguous)

    def test_compute_host_down_is_503_before_any_rpc(self):
        self.neutron.add_port('port-1')
        self.hosts.up = False
        self.assert_refused_before_rpc(exception.ServiceUnavailable,
                                       port_id='port-1')

    def test_overlapping_attaches_of_one_port_have_one_winner(self):
        self.nova.add_instance(uuid='other-server')
        other = self.compute.get_server('ctx', 'other-server')
        self.neutron.add_port('port-1')
        self.nova.release_attach.clear()
        results = []
        first = threading.Thread(target=lambda: results.append(
            self.attach(port_id='port-1')))
        first.start()
        self.assertTrue(self.nova.in_attach.wait(10))
        # The first attach holds the claim: the second is refused at once.
        self.assertRaises(exception.PortInUse, self.compute.attach_interface,
                          other, port_id='port-1')
        self.nova.release_attach.set()
        first.join(10)
        self.assertEqual(SERVER, results[0].device_id)
        self.assertEqual(1, len(self.nova.attach_calls))

    def test_port_bound_by_a_finished_rival_is_seen_under_the_claim(self):
        self.neutron.add_port('port-1')
        reads = []
        get_port = self.neutron.get_port

        def get_port_bound_after_first_read(port_id):
            port = get_port(port_id)
            reads.append(port_id)
            if len(reads) == 1:
                # A rival finishes between our first read and our claim.
                self.neutron.bind(port_id, 'rival-server')
            return port
        self.neutron.get_port = get_port_bound_after_first_read
        self.assertRaises(exception.PortInUse, self.attach, port_id='port-1')
        self.assertEqual([], self.nova.attach_calls)

    def test_failed_attach_leaves_the_port_unbound(self):
        self.neutron.add_port('port-1')
        self.nova.attach_error = nova_exception.InterfaceAttachFailed(
            instance_uuid=SERVER)
        self.nova.leave_bound = True
        error = self.assertRaises(exception.AttachFailed, self.attach,
                                  port_id='port-1')
        self.assertEqual('Failed to attach network adapter device to %s'
                         % SERVER, error.message)
        self.assertEqual('', self.neutron.ports['port-1'].device_id)
        self.assertEqual([], self.compute.attachments.in_flight())

    def test_rpc_timeout_is_503_and_a_late_attach_is_detached(self):
        """The compute host may act on the call after the caller's 503."""
        self.fixture(nova_compute, 'LATE_ATTACH_POLL', 0.05)
        self.neutron.add_port('port-1')
        self.nova.attach_error = oslo_messaging.MessagingTimeout()
        self.assertRaises(exception.ServiceUnavailable, self.attach,
                          port_id='port-1')
        # nova-compute runs again and binds the port after all.
        self.neutron.bind('port-1', SERVER)
        # The watch holds the claim until it has detached the late bind.
        self.assertTrue(self.compute_wait(
            lambda: not self.compute.attachments.in_flight()))
        self.assertEqual([(SERVER, 'port-1')], self.nova.detach_calls)

    def test_rpc_timeout_with_nothing_done_late(self):
        # Counted from the claim: long enough for the claim still to be
        # there when the 503 is back, on a busy host too.
        self.compute.late_attach_window = 2
        self.fixture(nova_compute, 'LATE_ATTACH_POLL', 0.05)
        self.neutron.add_port('port-1')
        self.nova.attach_error = oslo_messaging.MessagingTimeout()
        self.assertRaises(exception.ServiceUnavailable, self.attach,
                          port_id='port-1')
        self.assertEqual(1, len(self.compute.attachments.in_flight()))
        self.assertTrue(self.compute_wait(
            lambda: not self.compute.attachments.in_flight()))
        self.assertEqual([], self.nova.detach_calls)

    def compute_wait(self, predicate, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return False

    def test_novas_errors_become_ours_with_novas_words(self):
        self.neutron.add_port('port-1')
        for nova_error, ours in (
                (nova_exception.AttachInterfaceNotSupported(
                    instance_uuid=SERVER), exception.AttachNotSupported),
                (nova_exception.InstanceIsLocked(instance_uuid=SERVER),
                 exception.ServerLocked),
                (nova_exception.PortInUse(port_id='port-1'),
                 exception.PortInUse),
                (nova_exception.InvalidInput(reason='bad address'),
                 exception.Invalid)):
            self.nova.attach_error = nova_error
            error = self.assertRaises(ours, self.attach, port_id='port-1')
            self.assertEqual(nova_error.format_message(), error.message)

    def test_invalid_state_is_worded_as_novas_controller(self):
        self.neutron.add_port('port-1')
        self.nova.attach_error = nova_exception.InstanceInvalidState(
            attr='task_state', instance_uuid=SERVER, state='rebooting',
            method='attach_interface')
        error = self.assertRaises(exception.ServerInvalidState, self.attach,
                                  port_id='port-1')
        self.assertEqual("Cannot 'attach_interface' instance %s while it is "
                         "in task_state rebooting" % SERVER, error.message)

    def test_missing_server_is_404(self):
        self.assertRaises(exception.ServerNotFound, self.compute.get_server,
                          'ctx', 'missing')

    def test_detach_casts_for_a_bound_port_only(self):
        self.neutron.add_port('port-1', device_id=SERVER)
        self.neutron.add_port('port-2', device_id='another-server')
        self.compute.detach_interface(self.server, 'port-1')
        self.assertEqual([(SERVER, 'port-1')], self.nova.detach_calls)
        for port_id in ('port-2', 'missing'):
            self.assertRaises(exception.PortNotAttached,
                              self.compute.detach_interface, self.server,
                              port_id)
        self.assertEqual(1, len(self.nova.detach_calls))

    # A worker killed with an attach in flight (in the RPC, or watching).

    def crashed_claim(self, claim, port_created=False):
        self.compute.attachments.reserve(
            SERVER, claim, NET, port_created=port_created,
            owner=test_recovery.dead_owner())

    def recover(self):
        return recovery.Recovery(self.compute, stale_after=300).run()

    def test_late_attach_of_a_dead_worker_is_detached(self):
        self.fixture(nova_compute, 'LATE_ATTACH_POLL', 0.05)
        self.neutron.add_port('port-1')
        self.crashed_claim('port-1')
        self.assertEqual(1, self.recover())
        # nova-compute acts on the dead worker's call after all.
        self.neutron.bind('port-1', SERVER)
        self.assertTrue(self.compute_wait(
            lambda: not self.compute.attachments.in_flight()))
        self.assertEqual([(SERVER, 'port-1')], self.nova.detach_calls)

    def test_watch_taken_over_ends_with_the_window(self):
        self.compute.late_attach_window = 0.3
        self.fixture(nova_compute, 'LATE_ATTACH_POLL', 0.05)
        self.neutron.add_port('port-1')
        self.crashed_claim('port-1')
        self.assertEqual(1, self.recover())
        # The claim is this process's now: no second recoverer takes it.
        self.assertEqual(0, self.recover())
        self.assertEqual(1, len(self.compute.attachments.in_flight()))
        self.assertTrue(self.compute_wait(
            lambda: not self.compute.attachments.in_flight()))
        self.assertEqual([], self.nova.detach_calls)
        self.assertEqual('', self.neutron.ports['port-1'].device_id)

    def test_claim_on_a_deleted_server_is_dropped(self):
        self.neutron.add_port('port-1')
        self.crashed_claim('port-1')
        del self.nova.instances[SERVER]
        self.assertEqual(1, self.recover())
        self.assertEqual([], self.compute.attachments.in_flight())
        self.assertEqual([], self.nova.detach_calls)


class NovaComputeNoDuplicatesTest(NovaComputeTest):

    duplicates = False

    def test_second_port_on_a_network_is_refused_before_any_rpc(self):
        self.neutron.add_port('port-1', device_id=SERVER)
        self.assert_refused_before_rpc(exception.NetworkDuplicated,
                                       network_id=NET)

    def test_failed_attach_by_network_leaves_no_port(self):
        self.nova.attach_error = nova_exception.InterfaceAttachFailed(
            instance_uuid=SERVER)
        self.nova.leave_bound = True
        self.assertRaises(exception.AttachFailed, self.attach,
                          network_id=NET)
        self.assertEqual({}, self.neutron.ports)

    def test_port_created_late_for_a_dead_worker_is_detached(self):
        self.fixture(nova_compute, 'LATE_ATTACH_POLL', 0.05)
        self.crashed_claim('44444444-4444-4444-8444-444444444444',
                           port_created=True)
        self.assertEqual(1, self.recover())
        self.neutron.add_port('created-late', device_id=SERVER)
        self.assertTrue(self.compute_wait(
            lambda: not self.compute.attachments.in_flight()))
        self.assertEqual([(SERVER, 'created-late')], self.nova.detach_calls)
