"""The embedded network store: addresses, MACs and port claims."""

import threading
from unittest import mock

import fixtures
import netaddr
from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslotest import base
import sqlalchemy as sa

from interface_attach.db import networks
from interface_attach.db import tables
from interface_attach import exception
from tests import fixtures as ia_fixtures

PROJECT = 'p1'


class NetworkStoreTest(base.BaseTestCase):

    backend = None

    def setUp(self):
        super().setUp()
        service = self.useFixture(
            ia_fixtures.ServiceFixture(backend=self.backend))
        self.store = service.networks
        self.database = service.database
        self.net = self.store.create_network(PROJECT, 'net')

    def _port(self, **kwargs):
        row, fixed_ips = self.store.get_port(
            self.store.create_port(PROJECT, self.net.id, **kwargs)[0].id)
        return row, fixed_ips

    def test_addresses_are_unique_and_skip_gateway(self):
        subnet = self.store.create_subnet(self.net.id, '192.168.0.0/28')
        self.assertEqual('192.168.0.1', subnet.gateway_ip)
        addresses = [self._port()[1][0]['ip_address'] for _ in range(13)]
        self.assertEqual(13, len(set(addresses)))
        self.assertNotIn('192.168.0.1', addresses)
        self.assertNotIn('192.168.0.0', addresses)
        self.assertNotIn('192.168.0.15', addresses)
        self.assertRaises(exception.NoMoreFixedIps, self._port)

    def test_next_address_follows_the_highest_then_fills_gaps(self):
        self.store.create_subnet(self.net.id, '192.168.0.0/29')

        def address(**kwargs):
            return self._port(**kwargs)[1][0]['ip_address']

        self.assertEqual('192.168.0.2', address())
        second, fixed_ips = self._port()
        self.assertEqual('192.168.0.3', fixed_ips[0]['ip_address'])
        self.assertEqual('192.168.0.5', address(fixed_ip='192.168.0.5'))
        # After the highest, not in the gap below it.
        self.assertEqual('192.168.0.6', address())
        # At the end of the subnet, the gaps are filled, lowest first.
        self.store.delete_port(second.id)
        self.assertEqual(['192.168.0.3', '192.168.0.4'],
                         [address(), address()])
        self.assertRaises(exception.NoMoreFixedIps, self._port)

    def test_one_address_per_subnet_ipv4_then_ipv6(self):
        v6 = self.store.create_subnet(self.net.id, '2001:db8::/64')
        v4 = self.store.create_subnet(self.net.id, '10.1.0.0/24')
        _, fixed_ips = self._port()
        self.assertEqual([v4.id, v6.id], [ip['subnet_id'] for ip in fixed_ips])
        self.assertEqual('10.1.0.2', fixed_ips[0]['ip_address'])
        self.assertEqual(6, netaddr.IPAddress(fixed_ips[1]['ip_address'])
                         .version)

    def test_requested_address(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/24')
        _, fixed_ips = self._port(fixed_ip='10.1.0.50')
        self.assertEqual('10.1.0.50', fixed_ips[0]['ip_address'])
        self.assertRaises(exception.FixedIpAlreadyInUse, self._port,
                          fixed_ip='10.1.0.50')
        self.assertRaises(exception.FixedIpAlreadyInUse, self._port,
                          fixed_ip='10.1.0.1')   # the gateway
        self.assertRaises(exception.FixedIpInvalidForNetwork, self._port,
                          fixed_ip='10.2.0.5')
        self.assertRaises(exception.FixedIpInvalidForNetwork, self._port,
                          fixed_ip='10.1.0.255')   # broadcast

    def test_ipv6_requested_address_in_any_spelling_collides(self):
        self.store.create_subnet(self.net.id, '2001:db8::/64')
        self._port(fixed_ip='2001:db8::10')
        self.assertRaises(exception.FixedIpAlreadyInUse, self._port,
                          fixed_ip='2001:0db8:0000::0010')

    def test_the_port_returned_is_the_port_stored(self):
        # Built from what was inserted, not read back: it must not differ.
        self.store.create_subnet(self.net.id, '10.1.0.0/24')
        self.store.create_subnet(self.net.id, '2001:db8::/64')
        row, fixed_ips = self.store.create_port(
            PROJECT, self.net.id, device_id='vm-1', device_owner='compute:a',
            status='ACTIVE')
        stored, stored_ips = self.store.get_port(row.id)
        self.assertEqual(dict(stored._mapping), dict(row._mapping))
        self.assertEqual(stored_ips, fixed_ips)

    def test_a_port_id_in_use_is_refused_and_nothing_is_added(self):
        row, _ = self._port()
        e = self.assertRaises(exception.PortExists, self.store.create_port,
                              PROJECT, self.net.id, port_id=row.id)
        self.assertIn(row.id, str(e))
        self.assertEqual([row.id], [port.id for port, _ in
                                    self.store.list_ports_with_ips()])

    def test_a_port_on_a_missing_network_is_refused(self):
        for fixed_ip in (None, '10.0.0.5'):
            self.assertRaises(exception.NetworkNotFound,
                              self.store.create_port, PROJECT, 'nosuch',
                              fixed_ip=fixed_ip)

    def test_lost_race_inside_a_transaction_undoes_only_that_try(self):
        # An attach creates its port inside its own transaction; losing an
        # address to another worker after the port row was written must
        # undo that row too, and the next try must see the address taken.
        self.store.create_subnet(self.net.id, '10.0.0.0/24')
        real_insert = self.store._insert_port
        tries = []

        def insert_then_lose(conn, *args):
            tries.append(None)
            inserted = real_insert(conn, *args)
            if len(tries) == 1:
                raise db_exc.DBDuplicateEntry(columns=['ip_address'])
            return inserted
        self.useFixture(fixtures.MockPatchObject(
            self.store, '_insert_port', side_effect=insert_then_lose))
        with self.database.writer():
            row, fixed_ips = self.store.create_port(PROJECT, self.net.id)
        self.assertEqual(2, len(tries))
        self.assertEqual([(row.id, fixed_ips)], [
            (port.id, ips) for port, ips in self.store.list_ports_with_ips(
                network_id=self.net.id)])

    def test_an_address_lost_on_every_try_is_a_503_not_a_full_subnet(self):
        # Racing workers took every address this store picked: the subnet
        # has room, so "no free address" would be false.
        self.store.create_subnet(self.net.id, '10.0.0.0/24')
        self.useFixture(fixtures.MockPatch('time.sleep'))
        insert = self.useFixture(fixtures.MockPatchObject(
            self.store, '_insert_port', side_effect=db_exc.DBDuplicateEntry(
                columns=['ip_address']))).mock
        e = self.assertRaises(exception.ServiceUnavailable, self._port)
        self.assertEqual('database', e.kwargs['service'])
        # Ten picks in each of the nine runs of the transaction.
        self.assertEqual(90, insert.call_count)
        self.assertEqual([], self.store.list_ports_with_ips(
            network_id=self.net.id))

    # Subnets that cannot coexist

    def test_subnet_overlapping_another_of_its_network_is_refused(self):
        self.store.create_subnet(self.net.id, '10.0.0.0/24')
        self.store.create_subnet(self.net.id, 'fd00:1::/64')
        for cidr in ('10.0.0.0/24', '10.0.0.128/25', '10.0.0.6/31',
                     '10.0.0.0/16', 'fd00:1::/48', 'fd00:1:0:0:1::/80'):
            error = self.assertRaises(exception.SubnetOverlaps,
                                      self.store.create_subnet,
                                      self.net.id, cidr)
            self.assertEqual(
                'Invalid input for operation: Requested subnet with cidr: '
                '%s for network: %s overlaps with another subnet.'
                % (netaddr.IPNetwork(cidr).cidr, self.net.id), str(error))
        # Next to it, or on another network, is fine.
        self.store.create_subnet(self.net.id, '10.0.1.0/24')
        other = self.store.create_network(PROJECT, 'other')
        self.store.create_subnet(other.id, '10.0.0.0/24')
        self.assertEqual(['10.0.0.0/24', 'fd00:1::/64', '10.0.1.0/24'], [
            s.cidr for s in self.store.list_subnets(self.net.id)])

    def test_subnet_without_an_address_for_a_port_is_refused(self):
        for cidr in ('0.0.0.0/0', '::/0'):
            error = self.assertRaises(exception.InvalidSubnet,
                                      self.store.create_subnet,
                                      self.net.id, cidr)
            self.assertEqual('Invalid input for operation: 0 is not allowed '
                             'as CIDR prefix length.', str(error))
        for cidr, gateway in (('10.1.0.0/32', None), ('fd00::/128', None),
                              ('fd00::/127', 'fd00::1')):
            error = self.assertRaises(exception.InvalidSubnet,
                                      self.store.create_subnet,
                                      self.net.id, cidr, gateway)
            self.assertIn('subnet %s has no address a port could take'
                          % cidr, str(error))
        self.assertEqual([], self.store.list_subnets(self.net.id))
        # A /31 has two hosts (RFC 3021), a /127 one: not the anycast.
        self.store.create_subnet(self.net.id, '10.1.0.0/31')
        self.assertEqual(['10.1.0.0', '10.1.0.1'], [
            self._port()[1][0]['ip_address'] for _ in range(2)])
        v6_only = self.store.create_network(PROJECT, 'v6')
        self.store.create_subnet(v6_only.id, 'fd00::/127')
        self.assertEqual([{'subnet_id': mock.ANY, 'ip_address': 'fd00::1'}],
                         self.store.create_port(PROJECT, v6_only.id)[1])

    def test_concurrent_overlapping_subnets_cannot_both_be_created(self):
        # Both creations meet once they have read the network's subnets,
        # unless the first holds the network until it commits: then the
        # second waits for it, the meeting times out, and it reads the
        # first's subnet.
        self.store.create_subnet(self.net.id, '10.9.0.0/24')
        meeting = threading.Barrier(2, timeout=1)
        real_overlaps = networks.overlaps

        def meet_then_compare(net, other):
            try:
                meeting.wait()
            except threading.BrokenBarrierError:
                pass
            return real_overlaps(net, other)
        self.useFixture(fixtures.MockPatch(
            'interface_attach.db.networks.overlaps',
            side_effect=meet_then_compare))
        outcomes = []

        def create(cidr):
            try:
                self.store.create_subnet(self.net.id, cidr)
                outcomes.append('created')
            except exception.SubnetOverlaps:
                outcomes.append('refused')
        threads = [threading.Thread(target=create, args=(cidr,))
                   for cidr in ('10.0.0.0/24', '10.0.0.0/16')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(['created', 'refused'], sorted(outcomes))
        self.assertEqual(2, len(self.store.list_subnets(self.net.id)))

    # Addresses as Neutron gives them

    def test_one_address_per_version_from_the_first_subnet_with_room(self):
        tiny = self.store.create_subnet(self.net.id, '10.9.0.0/30')
        v6 = self.store.create_subnet(self.net.id, 'fd00:1::/64')
        next_v4 = self.store.create_subnet(self.net.id, '10.8.0.0/24')
        self.assertEqual(
            [{'subnet_id': tiny.id, 'ip_address': '10.9.0.2'},
             {'subnet_id': v6.id, 'ip_address': 'fd00:1::2'}],
            self._port()[1])
        # The /30 is full: the next IPv4 subnet gives the address.
        self.assertEqual(
            [{'subnet_id': next_v4.id, 'ip_address': '10.8.0.2'},
             {'subnet_id': v6.id, 'ip_address': 'fd00:1::3'}],
            self._port()[1])

    def test_a_version_with_no_room_left_fails_the_port(self):
        self.store.create_subnet(self.net.id, '10.9.0.0/30')
        self.store.create_subnet(self.net.id, 'fd00:1::/64')
        self._port()
        self.assertRaises(exception.NoMoreFixedIps, self._port)

    def test_ipv6_subnet_router_anycast_is_never_given(self):
        subnet = self.store.create_subnet(self.net.id, 'fd00:1::/64',
                                          gateway_ip='fd00:1::ff')
        self.assertEqual('fd00:1::1', self._port()[1][0]['ip_address'])
        for spelling in ('fd00:1::', 'fd00:1:0:0::0'):
            self.assertRaises(exception.FixedIpInvalidForNetwork, self._port,
                              fixed_ip=spelling)
        # Nor when the gaps are filled at the end of a small subnet.
        small = self.store.create_network(PROJECT, 'small')
        self.store.create_subnet(small.id, 'fd00:2::/126')
        addresses = [self.store.create_port(PROJECT, small.id)[1][0][
            'ip_address'] for _ in range(2)]
        self.assertEqual(['fd00:2::2', 'fd00:2::3'], addresses)
        self.assertRaises(exception.NoMoreFixedIps, self.store.create_port,
                          PROJECT, small.id)
        self.assertEqual('fd00:1::ff', subnet.gateway_ip)

    # Databases from before overlapping subnets were refused

    def _legacy_subnet(self, cidr, gateway_ip):
        subnet_id = 'legacy-%s' % cidr
        with self.database.writer() as conn:
            conn.execute(sa.insert(tables.subnets).values(
                id=subnet_id, network_id=self.net.id, cidr=cidr,
                ip_version=4, gateway_ip=gateway_ip,
                created_at=timeutils.utcnow()))
        return subnet_id

    def test_overlapping_legacy_subnets_never_give_an_address_twice(self):
        first = self.store.create_subnet(self.net.id, '10.0.0.0/30')
        self.assertEqual('10.0.0.2', self._port()[1][0]['ip_address'])
        second = self._legacy_subnet('10.0.0.0/29', '10.0.0.1')
        # The /30 is full; in the /29, .1 is the gateway, .2 held already.
        self.assertEqual([{'subnet_id': second, 'ip_address': '10.0.0.3'}],
                         self._port()[1])
        self.assertRaises(exception.FixedIpAlreadyInUse, self._port,
                          fixed_ip='10.0.0.3')
        self.assertRaises(exception.FixedIpAlreadyInUse, self._port,
                          fixed_ip='10.0.0.2')
        # Whatever the code, the database refuses a second holder.
        port, _ = self._port()
        with self.database.writer() as conn:
            self.assertRaises(db_exc.DBDuplicateEntry, conn.execute,
                              sa.insert(tables.ip_allocations).values(
                                  subnet_id=second, ip_address='10.0.0.2',
                                  port_id=port.id,
                                  address_key=networks.address_key(
                                      '10.0.0.2'),
                                  network_guard=self.net.id))
        self.assertEqual('10.0.0.0/30', first.cidr)

    def test_macs_have_openstack_prefix_and_differ(self):
        macs = {self._port()[0].mac_address for _ in range(20)}
        self.assertEqual(20, len(macs))
        for mac in macs:
            self.assertTrue(mac.startswith('fa:16:3e:'))

    def test_claim_is_compare_and_swap(self):
        port, _ = self._port()
        self.store.claim_port(port.id, 'server-a', 'compute:nova', 'ACTIVE')
        self.assertRaises(exception.PortInUse, self.store.claim_port,
                          port.id, 'server-b', 'compute:nova', 'ACTIVE')
        self.assertEqual('server-a', self.store.get_port(port.id)[0].device_id)
        self.assertRaises(exception.PortNotFound, self.store.claim_port,
                          'missing', 'server-b', 'compute:nova', 'ACTIVE')

    def test_release_only_by_holder(self):
        port, _ = self._port()
        self.store.claim_port(port.id, 'server-a', 'compute:nova', 'ACTIVE')
        self.store.release_port(port.id, 'server-b')
        self.assertEqual('server-a', self.store.get_port(port.id)[0].device_id)
        self.store.release_port(port.id, 'server-a')
        row, _ = self.store.get_port(port.id)
        self.assertEqual(('', '', 'DOWN'),
                         (row.device_id, row.device_owner, row.status))

    def test_delete_frees_addresses_but_not_of_bound_ports(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/24')
        port, _ = self._port(fixed_ip='10.1.0.9')
        self.store.claim_port(port.id, 'server-a', 'compute:nova', 'ACTIVE')
        self.assertRaises(exception.PortInUse, self.store.delete_port,
                          port.id)
        with self.database.reader() as conn:
            self.assertEqual(1, conn.execute(sa.select(
                sa.func.count()).select_from(tables.ip_allocations)).scalar())
        self.store.delete_port(port.id, bound_ok=True)
        self.assertRaises(exception.PortNotFound, self.store.get_port,
                          port.id)
        self._port(fixed_ip='10.1.0.9')

    def test_network_in_use_cannot_be_deleted(self):
        subnet = self.store.create_subnet(self.net.id, '10.1.0.0/24')
        self.assertRaises(exception.InUse, self.store.delete_network,
                          self.net.id)
        port, _ = self._port()
        self.assertRaises(exception.InUse, self.store.delete_subnet,
                          subnet.id)
        self.store.delete_port(port.id)
        self.store.delete_subnet(subnet.id)
        self.store.delete_network(self.net.id)
        self.assertRaises(exception.NetworkNotFound, self.store.get_network,
                          self.net.id)

    def test_visible_networks(self):
        self.store.create_network('p2', 'shared', shared=True)
        self.store.create_network('p2', 'private')
        self.assertEqual(['net', 'shared'], [n.name for n in self.store
                         .list_networks(PROJECT, include_shared=True)])
        self.assertEqual(['net'], [n.name for n in
                                   self.store.list_networks(PROJECT)])


class AddressWindowTest(base.BaseTestCase):
    """With a window, picks are random among the subnet's free addresses.

    Workers picking at once from the same committed state then seldom
    pick the same address; the keys of ip_allocations still decide.
    """

    backend = None
    window = 16

    def setUp(self):
        super().setUp()
        service = self.useFixture(
            ia_fixtures.ServiceFixture(backend=self.backend))
        self.database = service.database
        self.store = networks.NetworkStore(self.database,
                                           address_window=self.window)
        self.net = self.store.create_network(PROJECT, 'net')

    def _address(self, **kwargs):
        return self.store.create_port(PROJECT, self.net.id,
                                      **kwargs)[1][0]['ip_address']

    def _picks(self, count):
        """``count`` picks from one and the same state, as racing workers.

        Each pick's port is rolled back: the next pick sees what the first
        saw, as a worker that read before another committed.
        """
        picks = []
        for _ in range(count):
            try:
                with self.database.writer():
                    picks.append(self._address())
                    raise _RolledBack()
            except _RolledBack:
                pass
        return picks

    def _ints(self, addresses):
        return sorted(int(netaddr.IPAddress(a)) for a in addresses)

    def test_racing_picks_spread_over_the_window(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/16')
        picks = self._picks(300)
        # The window is the lowest 16 free: 10.1.0.2 to 10.1.0.17.
        self.assertEqual(set(self._ints('10.1.0.%d' % i
                                        for i in range(2, 18))),
                         set(self._ints(picks)))

    def test_the_window_follows_the_highest_and_fills_its_gaps(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/16')
        held = self._ints(self._address() for _ in range(40))
        self.assertEqual(40, len(set(held)))
        # The lowest free from the window-th highest held up: its gaps
        # first, then above the highest.
        top = held[-self.window:]
        window = sorted(set(range(top[0], top[-1])) - set(held))
        window += range(top[-1] + 1, top[-1] + 1 + self.window)
        self.assertEqual(set(window[:self.window]),
                         set(self._ints(self._picks(300))))

    def test_a_nearly_full_subnet_gives_its_last_free_addresses(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/24')
        held = [self._address() for _ in range(250)]
        # .1 is the gateway: 253 hosts, 3 left, wherever they are.
        free = set(self._ints('10.1.0.%d' % i for i in range(2, 255))) - set(
            self._ints(held))
        self.assertEqual(3, len(free))
        self.assertEqual(free, set(self._ints(self._picks(60))))
        last = [self._address() for _ in range(3)]
        self.assertEqual(free, set(self._ints(last)))
        self.assertRaises(exception.NoMoreFixedIps, self._address)

    def test_a_full_subnet_is_refused_as_before(self):
        self.store.create_subnet(self.net.id, '192.168.0.0/28')
        addresses = [self._address() for _ in range(13)]
        self.assertEqual(13, len(set(addresses)))
        self.assertNotIn('192.168.0.1', addresses)
        e = self.assertRaises(exception.NoMoreFixedIps, self._address)
        self.assertIn(self.net.id, str(e))

    def test_a_freed_address_of_a_full_subnet_is_found(self):
        self.store.create_subnet(self.net.id, '192.168.0.0/28')
        ports = [self.store.create_port(PROJECT, self.net.id)
                 for _ in range(13)]
        row, fixed_ips = ports[4]
        self.store.delete_port(row.id)
        self.assertEqual(fixed_ips[0]['ip_address'], self._address())

    def test_a_fixed_ip_is_the_one_asked_for(self):
        self.store.create_subnet(self.net.id, '10.1.0.0/24')
        self.assertEqual('10.1.0.3', self._address(fixed_ip='10.1.0.3'))
        self.assertRaises(exception.FixedIpAlreadyInUse, self._address,
                          fixed_ip='10.1.0.3')
        self.assertRaises(exception.FixedIpAlreadyInUse, self._address,
                          fixed_ip='10.1.0.1')
        self.assertNotIn('10.1.0.3', self._picks(100))


class _RolledBack(Exception):
    pass
