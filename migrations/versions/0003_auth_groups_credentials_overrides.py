"""API tokens, host groups, shared credentials, stored plan overrides, scan cancel, plan overrides used

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('credentials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_path', sa.String(length=1024), nullable=True),
    sa.Column('password_encrypted', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('plan_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workload', sa.String(length=512), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workload')
    )
    op.create_table('host_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('host_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_groups_credential_id'), ['credential_id'], unique=False)

    op.create_table('host_group_members',
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['host_groups.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_id'], ['hosts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host_id', 'group_id')
    )
    with op.batch_alter_table('host_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_group_members_group_id'), ['group_id'], unique=False)

    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_hosts_credential_id'), ['credential_id'], unique=False)
        batch_op.create_foreign_key('fk_hosts_credential_id_credentials', 'credentials', ['credential_id'], ['id'],
                                    ondelete='SET NULL')

    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_requested_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('overrides')
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_column('cancel_requested_at')
    with op.batch_alter_table('hosts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_hosts_credential_id_credentials', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_hosts_credential_id'))
        batch_op.drop_column('credential_id')
    with op.batch_alter_table('host_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_group_members_group_id'))
    op.drop_table('host_group_members')
    with op.batch_alter_table('host_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_groups_credential_id'))
    op.drop_table('host_groups')
    op.drop_table('plan_overrides')
    op.drop_table('credentials')
    op.drop_table('api_tokens')
