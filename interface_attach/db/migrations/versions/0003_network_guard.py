"""ip_allocations.network_guard: an address is held once per network.

The primary key makes an address unique in its subnet only; two subnets
of a network that overlap (refused now, but an older database may have
them) could give one address to two ports. The new unique key on
(network_guard, ip_address) forbids that whatever the subnets.

Existing rows get their network's id, except the second and later holders
of an address already held on their network: they keep NULL (NULLs never
collide), so the upgrade never fails, and ``check`` reports them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ip_allocations') as batch:
        batch.add_column(sa.Column('network_guard', sa.String(36),
                                   nullable=True))
    ips = sa.table('ip_allocations', sa.column('subnet_id'),
                   sa.column('ip_address'), sa.column('network_guard'))
    subnets = sa.table('subnets', sa.column('id'), sa.column('network_id'),
                       sa.column('created_at'))
    conn = op.get_bind()
    held = set()
    for subnet_id, address, network_id in conn.execute(
            sa.select(ips.c.subnet_id, ips.c.ip_address, subnets.c.network_id)
            .select_from(ips.join(subnets, subnets.c.id == ips.c.subnet_id))
            .order_by(subnets.c.created_at, subnets.c.id)).all():
        if (network_id, address) in held:
            continue
        held.add((network_id, address))
        conn.execute(
            sa.update(ips)
            .where(ips.c.subnet_id == subnet_id,
                   ips.c.ip_address == address)
            .values(network_guard=network_id))
    with op.batch_alter_table('ip_allocations') as batch:
        batch.create_unique_constraint(
            'uniq_ip_allocations0network_guard0ip_address',
            ['network_guard', 'ip_address'])
