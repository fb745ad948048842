"""Initial schema: servers, networks, subnets, ports, IPs, attachments.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

DateTime = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')


def upgrade():
    op.create_table(
        'servers',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('user_id', sa.String(255), nullable=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('vm_state', sa.String(32), nullable=False),
        sa.Column('task_state', sa.String(32), nullable=True),
        sa.Column('locked', sa.Boolean, nullable=False),
        sa.Column('host', sa.String(255), nullable=True),
        sa.Column('availability_zone', sa.String(255), nullable=True),
        sa.Column('launched_at', DateTime, nullable=True),
        sa.Column('created_at', DateTime, nullable=False),
        sa.Column('updated_at', DateTime, nullable=True),
        sa.Column('deleted_at', DateTime, nullable=True),
    )
    op.create_index('ix_servers_project_id', 'servers', ['project_id'])
    op.create_index('ix_servers_name', 'servers', ['name'])

    op.create_table(
        'networks',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('shared', sa.Boolean, nullable=False),
        sa.Column('created_at', DateTime, nullable=False),
    )
    op.create_index('ix_networks_project_id', 'networks', ['project_id'])

    op.create_table(
        'subnets',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('network_id', sa.String(36), sa.ForeignKey('networks.id'),
                  nullable=False),
        sa.Column('cidr', sa.String(64), nullable=False),
        sa.Column('ip_version', sa.Integer, nullable=False),
        sa.Column('gateway_ip', sa.String(64), nullable=True),
        sa.Column('created_at', DateTime, nullable=False),
    )
    op.create_index('ix_subnets_network_id', 'subnets', ['network_id'])

    op.create_table(
        'ports',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('network_id', sa.String(36), sa.ForeignKey('networks.id'),
                  nullable=False),
        sa.Column('mac_address', sa.String(17), nullable=False),
        sa.Column('device_id', sa.String(255), nullable=False),
        sa.Column('device_owner', sa.String(255), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('created_at', DateTime, nullable=False),
        sa.Column('updated_at', DateTime, nullable=True),
        sa.UniqueConstraint('mac_address', name='uniq_ports0mac_address'),
    )
    op.create_index('ix_ports_project_id', 'ports', ['project_id'])
    op.create_index('ix_ports_network_id', 'ports', ['network_id'])
    op.create_index('ix_ports_device_id', 'ports', ['device_id'])

    op.create_table(
        'ip_allocations',
        sa.Column('subnet_id', sa.String(36), sa.ForeignKey('subnets.id'),
                  primary_key=True),
        sa.Column('ip_address', sa.String(64), primary_key=True),
        sa.Column('port_id', sa.String(36), sa.ForeignKey('ports.id'),
                  nullable=False),
    )
    op.create_index('ix_ip_allocations_port_id', 'ip_allocations',
                    ['port_id'])

    op.create_table(
        'interface_attachments',
        sa.Column('port_id', sa.String(36), primary_key=True),
        sa.Column('server_id', sa.String(36), nullable=False),
        sa.Column('network_id', sa.String(36), nullable=False),
        sa.Column('network_guard', sa.String(36), nullable=True),
        sa.Column('port_created', sa.Boolean, nullable=False),
        sa.Column('tag', sa.String(60), nullable=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('owner', sa.String(255), nullable=True),
        sa.Column('created_at', DateTime, nullable=False),
        sa.Column('updated_at', DateTime, nullable=True),
        sa.UniqueConstraint(
            'server_id', 'network_guard',
            name='uniq_interface_attachments0server_id0network_guard'),
    )
    op.create_index('ix_interface_attachments_server_id',
                    'interface_attachments', ['server_id'])
