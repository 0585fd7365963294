"""Jump hosts (ProxyJump) for hosts and groups; the audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=512), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    for table in ('hosts', 'host_groups'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('jump_host_id', sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_jump_host_id'), ['jump_host_id'], unique=False)
            batch_op.create_foreign_key(f'fk_{table}_jump_host_id_hosts', 'hosts', ['jump_host_id'], ['id'],
                                        ondelete='SET NULL')


def downgrade() -> None:
    for table in ('host_groups', 'hosts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_jump_host_id_hosts', type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_jump_host_id'))
            batch_op.drop_column('jump_host_id')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))
    op.drop_table('audit_events')
