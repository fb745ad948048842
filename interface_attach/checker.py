"""The consistency checker: every invariant, verified from the database.

Each check is one query over the tables and yields one line per
violation; ``interface-attach-manage check`` prints them and fails if any.
"""

import datetime
import itertools

import netaddr
from oslo_utils import timeutils
import sqlalchemy as sa

from interface_attach.db import engine
from interface_attach.db import networks
from interface_attach.db import tables
from interface_attach import recovery

_servers = tables.servers
_ports = tables.ports
_ips = tables.ip_allocations
_subnets = tables.subnets
_att = tables.interface_attachments
_live = _servers.c.deleted_at.is_(None)
_OPERATION = {'attaching': 'attach', 'detaching': 'detach'}


def check(database, allow_duplicate_networks, stale_after):
    """All violations, as readable lines; an empty list when consistent."""
    return engine.once_more_if_stale(_check, database,
                                     allow_duplicate_networks, stale_after)


def _check(database, allow_duplicate_networks, stale_after):
    with database.reader() as conn:
        problems = []
        for rule in (_ports_of_missing_servers, _attachments_of_missing,
                     _attachments_not_matching_ports, _bound_without_record,
                     _addresses_twice, _addresses_outside_subnet,
                     _overlapping_subnets,
                     _servers_stuck_in_a_task):
            problems.extend(rule(conn, stale_after))
        if not allow_duplicate_networks:
            problems.extend(_duplicate_networks(conn))
        problems.extend(_abandoned_operations(conn, stale_after))
    return problems


def _ports_of_missing_servers(conn, stale_after):
    rows = conn.execute(
        sa.select(_ports.c.id, _ports.c.device_id)
        .where(_ports.c.device_id != '',
               _ports.c.device_owner.like('compute:%'),
               ~sa.exists().where(_servers.c.id == _ports.c.device_id,
                                  _live)))
    for row in rows:
        yield ('port %s is bound to server %s, which does not exist'
               % (row.id, row.device_id))


def _attachments_of_missing(conn, stale_after):
    rows = conn.execute(
        sa.select(_att.c.port_id, _att.c.server_id)
        .where(~sa.exists().where(_servers.c.id == _att.c.server_id, _live)))
    for row in rows:
        yield ('port %s is attached to server %s, which does not exist'
               % (row.port_id, row.server_id))


def _attachments_not_matching_ports(conn, stale_after):
    """A confirmed attachment whose local port is gone or bound elsewhere.

    Ports of another network back end are not in the ports table.
    """
    rows = conn.execute(
        sa.select(_att.c.port_id, _att.c.server_id, _ports.c.device_id)
        .select_from(_att.join(_ports, _ports.c.id == _att.c.port_id))
        .where(_att.c.state == 'attached',
               _ports.c.device_id != _att.c.server_id))
    for row in rows:
        yield ('port %s is attached to server %s but bound to %r'
               % (row.port_id, row.server_id, row.device_id))


def _bound_without_record(conn, stale_after):
    rows = conn.execute(
        sa.select(_ports.c.id, _ports.c.device_id)
        .where(_ports.c.device_id != '',
               _ports.c.device_owner.like('compute:%'),
               ~sa.exists().where(_att.c.port_id == _ports.c.id)))
    for row in rows:
        yield ('port %s is bound to server %s with no attachment: claimed '
               'by nobody' % (row.id, row.device_id))


def _addresses_twice(conn, stale_after):
    """An address held by two ports of one network, whatever the subnets.

    Through ``subnets.network_id``, not ``network_guard``: the rows
    migration 0003 left unguarded are the very ones to find.
    """
    network_id = _subnets.c.network_id
    twice = (sa.select(network_id, _ips.c.ip_address)
             .select_from(_ips.join(_subnets))
             .group_by(network_id, _ips.c.ip_address)
             .having(sa.func.count() > 1).subquery())
    rows = conn.execute(
        sa.select(network_id, _ips.c.ip_address, _ips.c.port_id)
        .select_from(_ips.join(_subnets).join(twice, sa.and_(
            twice.c.network_id == network_id,
            twice.c.ip_address == _ips.c.ip_address)))
        .order_by(network_id, _ips.c.ip_address, _ips.c.port_id))
    for (network, address), holders in itertools.groupby(
            rows, lambda row: (row.network_id, row.ip_address)):
        ports = [row.port_id for row in holders]
        yield ('address %s of network %s is held by %d ports: %s'
               % (address, network, len(ports), ', '.join(ports)))


def _overlapping_subnets(conn, stale_after):
    """Subnets of one network that share addresses.

    Refused now, but a database from before may hold them.
    """
    rows = conn.execute(sa.select(_subnets).order_by(
        _subnets.c.network_id, _subnets.c.created_at, _subnets.c.id))
    for network, subnets in itertools.groupby(
            rows, lambda row: row.network_id):
        subnets = [(row, netaddr.IPNetwork(row.cidr)) for row in subnets]
        for (a, a_net), (b, b_net) in itertools.combinations(subnets, 2):
            if networks.overlaps(a_net, b_net):
                yield ('subnets %s (%s) and %s (%s) of network %s overlap'
                       % (a.id, a.cidr, b.id, b.cidr, network))


def _addresses_outside_subnet(conn, stale_after):
    rows = conn.execute(
        sa.select(_ips.c.ip_address, _ips.c.port_id, _subnets.c.id,
                  _subnets.c.cidr)
        .select_from(_ips.join(_subnets)))
    for row in rows:
        if netaddr.IPAddress(row.ip_address) not in netaddr.IPNetwork(
                row.cidr):
            yield ('address %s of port %s is outside subnet %s (%s)'
                   % (row.ip_address, row.port_id, row.id, row.cidr))


def _duplicate_networks(conn):
    rows = conn.execute(
        sa.select(_att.c.server_id, _att.c.network_id, sa.func.count())
        .group_by(_att.c.server_id, _att.c.network_id)
        .having(sa.func.count() > 1))
    for row in rows:
        yield ('server %s has %d ports on network %s (duplicates are off)'
               % (row.server_id, row[2], row.network_id))


def _servers_stuck_in_a_task(conn, stale_after):
    since = timeutils.utcnow() - datetime.timedelta(seconds=stale_after)
    rows = conn.execute(
        sa.select(_servers.c.id, _servers.c.task_state)
        .where(_live, _servers.c.task_state.is_not(None),
               sa.func.coalesce(_servers.c.updated_at,
                                _servers.c.created_at) < since))
    for row in rows:
        yield ('server %s is stuck in task %s' % (row.id, row.task_state))


def _abandoned_operations(conn, stale_after):
    rows = conn.execute(sa.select(_att).where(
        _att.c.state.in_(('attaching', 'detaching'))))
    for row in rows:
        if recovery.abandoned(row, stale_after):
            yield ('port %s is held by a %s of server %s that no longer '
                   'runs (%s); run recovery'
                   % (row.port_id, _OPERATION[row.state], row.server_id,
                      row.owner))
