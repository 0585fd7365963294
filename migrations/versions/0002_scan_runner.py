"""scans.runner: the process that runs a scan

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scans') as batch:
        batch.add_column(sa.Column('runner', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scans') as batch:
        batch.drop_column('runner')
