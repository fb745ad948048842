"""The embedded network store: networks, subnets, ports and IP allocations.

This is what the ``local`` network driver and the operator CLI work on.
Every write that must not race is a single statement the database decides:
a port is claimed with ``UPDATE ... WHERE device_id = ''`` and an address is
taken by inserting into ``ip_allocations``, whose keys forbid a second
holder in the subnet and on the network. Subnet creations of one network
are serialised on the network's row, so overlapping subnets cannot both
be created.
"""

import collections
import random

import netaddr
from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from interface_attach.db import engine
from interface_attach.db import tables
from interface_attach import exception

_networks = tables.networks
_subnets = tables.subnets
_ports = tables.ports
_ips = tables.ip_allocations

# Statements of the request path, built once: SQLAlchemy then reuses their
# compiled form and cache key. Parameters named after a column set it; the
# "b_" ones select the row.
_GET_NETWORK = sa.select(_networks).where(
    _networks.c.id == sa.bindparam('network_id'))
_PORT_BY_ID = sa.select(_ports.c.id).where(
    _ports.c.id == sa.bindparam('port_id'))
# Ports with their fixed IPs: a row per address (one with no address for a
# port without), the addresses in their subnets' order.
_PORTS = (
    sa.select(_ports, _ips.c.subnet_id, _ips.c.ip_address)
    .select_from(_ports.outerjoin(_ips).outerjoin(_subnets))
    .order_by(_ports.c.created_at, _ports.c.id, _subnets.c.ip_version,
              _subnets.c.created_at))
_PORT_WITH_IPS = _PORTS.where(_ports.c.id == sa.bindparam('port_id'))
_PORTS_BY_DEVICE = _PORTS.where(
    _ports.c.device_id == sa.bindparam('device_id'))
_SUBNETS_OF_NETWORK = sa.select(_subnets).where(
    _subnets.c.network_id == sa.bindparam('network_id')).order_by(
        _subnets.c.ip_version, _subnets.c.created_at, _subnets.c.id)
# FOR NO KEY UPDATE on PostgreSQL: ports inserted meanwhile (their foreign
# key takes KEY SHARE) are not blocked; FOR UPDATE elsewhere, nothing on
# SQLite, where a writer holds the database's write lock anyway.
_LOCK_NETWORK = _GET_NETWORK.with_for_update(key_share=True)
_ADDRESSES_OF_SUBNETS = sa.select(_ips.c.ip_address).where(
    _ips.c.subnet_id.in_(sa.bindparam('subnet_ids', expanding=True)))
_HOLDER_IN_SUBNETS = sa.select(_ips.c.port_id).where(
    _ips.c.subnet_id.in_(sa.bindparam('subnet_ids', expanding=True)),
    _ips.c.ip_address == sa.bindparam('ip_address')).limit(1)
# The subnet's highest addresses, highest first: one range of the
# (subnet_id, address_key) index, limited to the address window.
_HIGHEST_ADDRESS_KEYS = sa.select(_ips.c.address_key).where(
    _ips.c.subnet_id == sa.bindparam('subnet_id')).order_by(
        _ips.c.address_key.desc())
_INSERT_PORT = sa.insert(_ports)
_INSERT_IP = sa.insert(_ips)
_UPDATE_PORT_OF_DEVICE = sa.update(_ports).where(
    _ports.c.id == sa.bindparam('b_port_id'),
    _ports.c.device_id == sa.bindparam('b_device_id'))
_DELETE_IPS_OF_PORT = sa.delete(_ips).where(
    _ips.c.port_id == sa.bindparam('port_id'))
_DELETE_PORT = sa.delete(_ports).where(
    _ports.c.id == sa.bindparam('port_id'))
_DELETE_FREE_PORT = _DELETE_PORT.where(_ports.c.device_id == '')

MAC_PREFIX = 'fa:16:3e'
_ALLOCATION_ATTEMPTS = 10


def address_key(address):
    """An address as 32 hex digits: ordered as the addresses are."""
    return '%032x' % int(netaddr.IPAddress(address))


def allocatable_range(net):
    """(first, last) addresses a port may hold, as integers; None if none.

    As Neutron's allocation pools: IPv4 keeps back its network and
    broadcast addresses, except on a /31 (RFC 3021: both are hosts); IPv6
    keeps back the subnet-router anycast address, the subnet's own. So a
    /32 or a /128, whose one address is the subnet's own, has none.
    """
    if net.size == 1:
        return None
    if net.version == 4 and net.size > 2:
        return net.first + 1, net.last - 1
    if net.version == 6:
        return net.first + 1, net.last
    return net.first, net.last


def overlaps(net, other):
    """Whether two IPNetworks share an address."""
    return (net.version == other.version and net.first <= other.last
            and other.first <= net.last)


def generate_mac():
    return '%s:%02x:%02x:%02x' % (MAC_PREFIX, random.randint(0, 255),
                                  random.randint(0, 255),
                                  random.randint(0, 255))


class NetworkStore:
    """The embedded network store.

    ``address_window``: a port without a fixed IP gets a random one of
    this many free addresses of its subnet (``[network] address_window``);
    1, the default here (the CLI and the demo data), gives the addresses
    in order.
    """

    def __init__(self, database, address_window=1):
        self._db = database
        self._window = address_window
        self._highest_keys = _HIGHEST_ADDRESS_KEYS.limit(address_window)

    # Networks

    @engine.retried
    def create_network(self, project_id, name, shared=False,
                       network_id=None):
        values = dict(id=network_id or uuidutils.generate_uuid(),
                      project_id=project_id, name=name, shared=shared,
                      created_at=timeutils.utcnow())
        with self._db.writer() as conn:
            conn.execute(sa.insert(_networks).values(**values))
        return self.get_network(values['id'])

    @engine.retried
    def get_network(self, network_id):
        with self._db.reader() as conn:
            row = conn.execute(_GET_NETWORK,
                               {'network_id': network_id}).first()
        if row is None:
            raise exception.NetworkNotFound(network_id=network_id)
        return row

    @engine.retried
    def list_networks(self, project_id=None, include_shared=False):
        """Networks of ``project_id`` (plus shared ones if asked), or all."""
        query = sa.select(_networks).order_by(_networks.c.created_at,
                                              _networks.c.id)
        if project_id is not None:
            owned = _networks.c.project_id == project_id
            query = query.where(
                sa.or_(owned, _networks.c.shared) if include_shared
                else owned)
        with self._db.reader() as conn:
            return conn.execute(query).all()

    @engine.retried
    def delete_network(self, network_id):
        with self._db.writer() as conn:
            for table in (_subnets, _ports):
                if conn.execute(sa.select(table.c.id).where(
                        table.c.network_id == network_id).limit(1)).first():
                    raise exception.InUse(resource='Network', id=network_id)
            result = conn.execute(sa.delete(_networks).where(
                _networks.c.id == network_id))
        if result.rowcount != 1:
            raise exception.NetworkNotFound(network_id=network_id)

    # Subnets

    @engine.retried
    def create_subnet(self, network_id, cidr, gateway_ip=None,
                      subnet_id=None):
        """Add a subnet; the gateway defaults to the first host address.

        :raises NetworkNotFound, SubnetOverlaps: as Neutron, a subnet may
            not share an address with another subnet of its network.
        :raises InvalidSubnet: a /0, or no address left for a port.
        """
        net = netaddr.IPNetwork(cidr).cidr
        if net.prefixlen == 0:
            # Neutron's refusal too; a /0 would also overlap every subnet.
            raise exception.InvalidSubnet(
                reason='0 is not allowed as CIDR prefix length')
        if gateway_ip is None and net.size > 2:
            gateway_ip = str(net.network + 1)
        if gateway_ip is not None:
            gateway_ip = str(netaddr.IPAddress(gateway_ip))
            if netaddr.IPAddress(gateway_ip) not in net:
                raise exception.Invalid(
                    'Gateway %s is not in subnet %s.' % (gateway_ip, net.cidr))
        hosts = allocatable_range(net)
        gateway = int(netaddr.IPAddress(gateway_ip)) if gateway_ip else None
        if hosts is None or hosts == (gateway, gateway):
            raise exception.InvalidSubnet(
                reason='subnet %s has no address a port could take'
                % net.cidr)
        values = dict(id=subnet_id or uuidutils.generate_uuid(),
                      network_id=network_id, cidr=str(net.cidr),
                      ip_version=net.version, gateway_ip=gateway_ip,
                      created_at=timeutils.utcnow())
        with self._db.writer() as conn:
            # The network's row, locked until commit, serialises the subnet
            # creations of the network: of two overlapping ones, the second
            # waits here, then reads the first among the subnets (every
            # statement reads what is committed, see engine).
            if conn.execute(_LOCK_NETWORK,
                            {'network_id': network_id}).first() is None:
                raise exception.NetworkNotFound(network_id=network_id)
            for other in conn.execute(_SUBNETS_OF_NETWORK,
                                      {'network_id': network_id}):
                if overlaps(net, netaddr.IPNetwork(other.cidr)):
                    raise exception.SubnetOverlaps(cidr=str(net.cidr),
                                                   network_id=network_id)
            conn.execute(sa.insert(_subnets).values(**values))
        return self.get_subnet(values['id'])

    @engine.retried
    def get_subnet(self, subnet_id):
        with self._db.reader() as conn:
            row = conn.execute(sa.select(_subnets).where(
                _subnets.c.id == subnet_id)).first()
        if row is None:
            raise exception.SubnetNotFound(subnet_id=subnet_id)
        return row

    @engine.retried
    def list_subnets(self, network_id=None):
        query = sa.select(_subnets).order_by(_subnets.c.created_at,
                                             _subnets.c.id)
        if network_id is not None:
            query = query.where(_subnets.c.network_id == network_id)
        with self._db.reader() as conn:
            return conn.execute(query).all()

    @engine.retried
    def delete_subnet(self, subnet_id):
        with self._db.writer() as conn:
            if conn.execute(sa.select(_ips.c.port_id).where(
                    _ips.c.subnet_id == subnet_id).limit(1)).first():
                raise exception.InUse(resource='Subnet', id=subnet_id)
            result = conn.execute(sa.delete(_subnets).where(
                _subnets.c.id == subnet_id))
        if result.rowcount != 1:
            raise exception.SubnetNotFound(subnet_id=subnet_id)

    # Ports

    @engine.retried
    def create_port(self, project_id, network_id, fixed_ip=None,
                    port_id=None, device_id='', device_owner='',
                    status='DOWN'):
        """Create a port with an address of each IP version of its network.

        As Neutron: for each version, from the first subnet of that version
        (oldest first) with an address left. With ``fixed_ip`` the port
        gets exactly that address. The port, its addresses and its binding
        (``device_id``) are written in one transaction, so a failure leaves
        nothing behind.

        :raises FixedIpInvalidForNetwork, FixedIpAlreadyInUse, NoMoreFixedIps
        """
        if port_id is None:
            port_id = uuidutils.generate_uuid()
        for attempt in range(_ALLOCATION_ATTEMPTS):
            try:
                # Inside an attach's transaction, a lost race undoes this
                # attempt only.
                with self._db.writer(savepoint=True) as conn:
                    return self._insert_port(
                        conn, port_id, project_id, network_id, fixed_ip,
                        device_id, device_owner, status)
            except db_exc.DBDuplicateEntry as e:
                # Back ends name a primary key violation differently, so
                # it cannot be told from an address collision: looked up.
                with self._db.writer() as conn:
                    if conn.execute(_PORT_BY_ID, {'port_id': port_id}).first():
                        raise exception.PortExists(port_id=port_id)
                # Another worker took the MAC or the address we picked
                # between our read and our insert: pick again.
                if fixed_ip is not None and 'mac_address' not in (
                        e.columns or []):
                    raise exception.FixedIpAlreadyInUse(address=fixed_ip)
            except db_exc.DBReferenceError:
                # Deleted since the caller looked it up.
                raise exception.NetworkNotFound(network_id=network_id)
        # Every pick lost its race: the subnet is that contended, not full
        # (a full one raised NoMoreFixedIps above). The whole transaction
        # runs again after a pause, as on a deadlock; a 503 if it never
        # lands.
        raise db_exc.DBDeadlock()

    def _insert_port(self, conn, port_id, project_id, network_id, fixed_ip,
                     device_id, device_owner, status):
        """(the port as inserted, its fixed IPs): nothing read back."""
        subnets = conn.execute(_SUBNETS_OF_NETWORK,
                               {'network_id': network_id}).all()
        if not subnets and conn.execute(
                _GET_NETWORK, {'network_id': network_id}).first() is None:
            raise exception.NetworkNotFound(network_id=network_id)
        if fixed_ip is not None:
            addresses = [self._requested_address(conn, subnets, network_id,
                                                 fixed_ip)]
        else:
            addresses = [
                self._address_of_version(conn, subnets, version, network_id)
                for version in sorted({subnet.ip_version
                                       for subnet in subnets})]
        port = _PortRow(
            id=port_id, project_id=project_id, network_id=network_id,
            mac_address=generate_mac(), device_id=device_id,
            device_owner=device_owner, status=status,
            created_at=timeutils.utcnow(), updated_at=None)
        conn.execute(_INSERT_PORT, port._asdict())
        for subnet_id, address in addresses:
            conn.execute(_INSERT_IP, dict(
                subnet_id=subnet_id, ip_address=address, port_id=port_id,
                address_key=address_key(address), network_guard=network_id))
        return port, [dict(subnet_id=subnet_id, ip_address=address)
                      for subnet_id, address in addresses]

    @staticmethod
    def _requested_address(conn, subnets, network_id, fixed_ip):
        address = netaddr.IPAddress(fixed_ip)
        holding = [subnet for subnet in subnets
                   if address in netaddr.IPNetwork(subnet.cidr)]
        for subnet in holding:
            hosts = allocatable_range(netaddr.IPNetwork(subnet.cidr))
            if hosts is None or not hosts[0] <= int(address) <= hosts[1]:
                continue
            # Every subnet holding the address is looked at: a database
            # from before overlaps were refused may have two.
            taken = conn.execute(_HOLDER_IN_SUBNETS, {
                'subnet_ids': [s.id for s in holding],
                'ip_address': str(address)}).first()
            if taken is not None or str(address) == subnet.gateway_ip:
                raise exception.FixedIpAlreadyInUse(address=fixed_ip)
            return subnet.id, str(address)
        raise exception.FixedIpInvalidForNetwork(address=fixed_ip,
                                                 network_id=network_id)

    def _address_of_version(self, conn, subnets, version, network_id):
        """(subnet id, address) of the first ``version`` subnet with room.

        So a full subnet does not fail the port while another has room.
        """
        for subnet in subnets:
            if subnet.ip_version == version:
                address = self._free_address(conn, subnet, subnets)
                if address is not None:
                    return subnet.id, address
        raise exception.NoMoreFixedIps(network_id=network_id)

    def _free_address(self, conn, subnet, subnets):
        """A random address of the subnet's window of free ones; None if full.

        Workers that pick at once then seldom pick the same address. The
        window is the lowest free addresses from the window-th highest
        held address up: one indexed query reads those highest, however
        many ports the subnet has, and the gaps among them (left by
        earlier picks, or by deleted ports) are filled with the addresses
        above. Only when that part of the subnet has fewer free addresses
        than the window (its end is near) are all of the subnet's
        addresses read, and the window is its lowest free ones.
        """
        net = netaddr.IPNetwork(subnet.cidr)
        hosts = allocatable_range(net)
        if hosts is None:
            return None
        taken = set()
        if subnet.gateway_ip:
            taken.add(int(netaddr.IPAddress(subnet.gateway_ip)))
        # Subnets created before overlaps were refused may share addresses
        # with this one: those the others hold are taken too, so read them
        # all (such a network is reported by check until it is fixed).
        sharing = [other.id for other in subnets
                   if overlaps(net, netaddr.IPNetwork(other.cidr))]
        if sharing == [subnet.id]:
            highest = [int(key, 16) for key in conn.execute(
                self._highest_keys, {'subnet_id': subnet.id}).scalars().all()]
            # Fewer than asked for: these are all the subnet holds.
            complete = len(highest) < self._window
            window = self._free_window(
                hosts, hosts[0] if complete else highest[-1],
                taken.union(highest))
            if complete or len(window) == self._window:
                return _random_address(window, net)
        taken.update(int(netaddr.IPAddress(address)) for address in
                     conn.execute(_ADDRESSES_OF_SUBNETS,
                                  {'subnet_ids': sharing}).scalars().all())
        return _random_address(self._free_window(hosts, hosts[0], taken),
                               net)

    def _free_window(self, hosts, start, taken):
        """The lowest ``address_window`` free host addresses from ``start``.

        Counted gap by gap between the taken addresses, in order, rather
        than address by address.
        """
        first, end = max(start, hosts[0]), hosts[1] + 1
        bounds = [first - 1] + sorted(
            held for held in taken if first <= held < end) + [end]
        window = []
        for low, high in zip(bounds, bounds[1:]):
            if high - low > 1:
                window.extend(range(low + 1, min(
                    high, low + 1 + self._window - len(window))))
                if len(window) == self._window:
                    break
        return window

    def get_port(self, port_id):
        """(port row, [{'subnet_id', 'ip_address'}])."""
        ports = self.list_ports_with_ips(port_id=port_id)
        if not ports:
            raise exception.PortNotFound(port_id=port_id)
        return ports[0]

    @engine.retried
    def list_ports_with_ips(self, port_id=None, device_id=None,
                            network_id=None):
        """[(port row, fixed IPs)] in one query, however many ports."""
        query, params = _ports_query(port_id, device_id, network_id)
        with self._db.reader() as conn:
            return _ports_with_ips(conn, query, params)

    @engine.retried
    def claim_port(self, port_id, device_id, device_owner, status):
        """Bind a free port: one compare-and-swap on ``device_id``.

        :returns: (port row, fixed IPs) as bound.
        :raises PortNotFound, PortInUse: the port was not there, or not free.
        """
        with self._db.writer() as conn:
            result = conn.execute(_UPDATE_PORT_OF_DEVICE, dict(
                device_id=device_id, device_owner=device_owner,
                status=status, updated_at=timeutils.utcnow(),
                b_port_id=port_id, b_device_id=''))
            if result.rowcount != 1:
                self._raise_missing_or_in_use(conn, port_id)
            return _ports_with_ips(conn, _PORT_WITH_IPS,
                                   {'port_id': port_id})[0]

    @engine.retried
    def release_port(self, port_id, device_id):
        """Unbind a port if, and only if, ``device_id`` holds it."""
        with self._db.writer() as conn:
            conn.execute(_UPDATE_PORT_OF_DEVICE, dict(
                device_id='', device_owner='', status='DOWN',
                updated_at=timeutils.utcnow(), b_port_id=port_id,
                b_device_id=device_id))

    @engine.retried
    def set_device_status(self, device_id, status):
        with self._db.writer() as conn:
            conn.execute(sa.update(_ports)
                         .where(_ports.c.device_id == device_id)
                         .values(status=status,
                                 updated_at=timeutils.utcnow()))

    @engine.retried
    def delete_port(self, port_id, bound_ok=False):
        """Delete a port and free its addresses.

        :raises PortInUse: the port is bound and ``bound_ok`` is False.
        """
        with self._db.writer() as conn:
            conn.execute(_DELETE_IPS_OF_PORT, {'port_id': port_id})
            result = conn.execute(
                _DELETE_PORT if bound_ok else _DELETE_FREE_PORT,
                {'port_id': port_id})
            if result.rowcount != 1:
                # Undo the address release by aborting the transaction.
                self._raise_missing_or_in_use(conn, port_id)

    @staticmethod
    def _raise_missing_or_in_use(conn, port_id):
        exists = conn.execute(_PORT_BY_ID, {'port_id': port_id}).first()
        if exists is None:
            raise exception.PortNotFound(port_id=port_id)
        raise exception.PortInUse(port_id=port_id)


def _random_address(window, net):
    """One of the window's addresses, as a string; None if it is empty."""
    if not window:
        return None
    return str(netaddr.IPAddress(random.choice(window), net.version))


class _PortRow(collections.namedtuple(
        '_PortRow', [column.name for column in _ports.columns])):
    """A port row, as read or as inserted."""

    __slots__ = ()

    @property
    def _mapping(self):
        return self._asdict()


def _ports_with_ips(conn, query, params):
    """[(port row, fixed IPs)] of a query of ``_PORTS``."""
    width = len(_PortRow._fields)
    ports = {}
    for row in conn.execute(query, params):
        port = ports.get(row.id)
        if port is None:
            port = ports[row.id] = (_PortRow(*row[:width]), [])
        if row.subnet_id is not None:
            port[1].append(dict(subnet_id=row.subnet_id,
                                ip_address=row.ip_address))
    return list(ports.values())


def _ports_query(port_id, device_id, network_id):
    """The ports query for these filters, and its parameters.

    The two the request path uses (one port, a server's ports) are built
    once; the operator CLI's combinations are built when asked.
    """
    if network_id is None:
        if port_id is not None and device_id is None:
            return _PORT_WITH_IPS, {'port_id': port_id}
        if device_id is not None and port_id is None:
            return _PORTS_BY_DEVICE, {'device_id': device_id}
    query = _PORTS
    for column, value in ((_ports.c.id, port_id),
                          (_ports.c.device_id, device_id),
                          (_ports.c.network_id, network_id)):
        if value is not None:
            query = query.where(column == value)
    return query, {}
