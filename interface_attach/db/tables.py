"""The database schema as SQLAlchemy Core tables; Alembic migrations match it.

The invariants of the service live here as constraints, because only the
database sees every worker on every host:
- ``ip_allocations`` primary key: an address is allocated once per subnet;
- ``ip_allocations`` unique (network_guard, ip_address): and once per
  network, whatever its subnets (``network_guard`` holds the network id;
  migration 0003 left it NULL on the later holders of an address that two
  overlapping subnets had given twice, which ``check`` reports);
- ``ports.mac_address`` unique: no two ports share a MAC;
- ``interface_attachments`` primary key on ``port_id``: a port is attached
  to at most one server;
- ``interface_attachments`` unique (server_id, network_guard): with
  duplicate networks off, ``network_guard`` holds the network id, so a
  server cannot get a second port on one network (NULLs never collide, so
  the constraint is inert when duplicates are allowed).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

_ID = 36
# Microseconds on MySQL too (its DATETIME keeps whole seconds by default):
# lists are ordered by creation time.
DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')

servers = sa.Table(
    'servers', metadata,
    sa.Column('id', sa.String(_ID), primary_key=True),
    sa.Column('project_id', sa.String(255), nullable=False, index=True),
    sa.Column('user_id', sa.String(255), nullable=True),
    sa.Column('name', sa.String(255), nullable=False, index=True),
    sa.Column('vm_state', sa.String(32), nullable=False),
    sa.Column('task_state', sa.String(32), nullable=True),
    sa.Column('locked', sa.Boolean, nullable=False, default=False),
    sa.Column('host', sa.String(255), nullable=True),
    sa.Column('availability_zone', sa.String(255), nullable=True),
    sa.Column('launched_at', DateTime, nullable=True),
    sa.Column('created_at', DateTime, nullable=False),
    sa.Column('updated_at', DateTime, nullable=True),
    sa.Column('deleted_at', DateTime, nullable=True),
)

networks = sa.Table(
    'networks', metadata,
    sa.Column('id', sa.String(_ID), primary_key=True),
    sa.Column('project_id', sa.String(255), nullable=False, index=True),
    sa.Column('name', sa.String(255), nullable=False),
    sa.Column('shared', sa.Boolean, nullable=False, default=False),
    sa.Column('created_at', DateTime, nullable=False),
)

subnets = sa.Table(
    'subnets', metadata,
    sa.Column('id', sa.String(_ID), primary_key=True),
    sa.Column('network_id', sa.String(_ID), sa.ForeignKey('networks.id'),
              nullable=False, index=True),
    sa.Column('cidr', sa.String(64), nullable=False),
    sa.Column('ip_version', sa.Integer, nullable=False),
    sa.Column('gateway_ip', sa.String(64), nullable=True),
    sa.Column('created_at', DateTime, nullable=False),
)

ports = sa.Table(
    'ports', metadata,
    sa.Column('id', sa.String(_ID), primary_key=True),
    sa.Column('project_id', sa.String(255), nullable=False, index=True),
    sa.Column('network_id', sa.String(_ID), sa.ForeignKey('networks.id'),
              nullable=False, index=True),
    sa.Column('mac_address', sa.String(17), nullable=False),
    # '' when free; a compare-and-swap on this column claims the port.
    sa.Column('device_id', sa.String(255), nullable=False, default='',
              index=True),
    sa.Column('device_owner', sa.String(255), nullable=False, default=''),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('created_at', DateTime, nullable=False),
    sa.Column('updated_at', DateTime, nullable=True),
    sa.UniqueConstraint('mac_address', name='uniq_ports0mac_address'),
)

ip_allocations = sa.Table(
    'ip_allocations', metadata,
    sa.Column('subnet_id', sa.String(_ID), sa.ForeignKey('subnets.id'),
              primary_key=True),
    # Stored in canonical form (netaddr), so equal addresses collide.
    sa.Column('ip_address', sa.String(64), primary_key=True),
    sa.Column('port_id', sa.String(_ID), sa.ForeignKey('ports.id'),
              nullable=False, index=True),
    # The address as 32 hex digits (networks.address_key): ordered as the
    # addresses are, so the highest of a subnet is one index lookup.
    sa.Column('address_key', sa.String(32), nullable=False),
    sa.Column('network_guard', sa.String(_ID), nullable=True),
    sa.Index('ix_ip_allocations_subnet_id_address_key', 'subnet_id',
             'address_key'),
    sa.UniqueConstraint(
        'network_guard', 'ip_address',
        name='uniq_ip_allocations0network_guard0ip_address'),
)

interface_attachments = sa.Table(
    'interface_attachments', metadata,
    sa.Column('port_id', sa.String(_ID), primary_key=True),
    sa.Column('server_id', sa.String(_ID), nullable=False, index=True),
    sa.Column('network_id', sa.String(_ID), nullable=False),
    sa.Column('network_guard', sa.String(_ID), nullable=True),
    # True when the attach created the port: detach deletes it then.
    sa.Column('port_created', sa.Boolean, nullable=False),
    sa.Column('tag', sa.String(60), nullable=True),
    # 'attaching' while the driver works, then 'attached'.
    sa.Column('state', sa.String(16), nullable=False),
    # host:pid:nonce of the attach or detach in flight; NULL once done.
    sa.Column('owner', sa.String(255), nullable=True),
    sa.Column('created_at', DateTime, nullable=False),
    sa.Column('updated_at', DateTime, nullable=True),
    sa.UniqueConstraint(
        'server_id', 'network_guard',
        name='uniq_interface_attachments0server_id0network_guard'),
)
