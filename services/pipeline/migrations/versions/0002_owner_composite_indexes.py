"""Owner + stage and owner + status keyset indexes for opportunity lists.

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f('ix_opportunities_org_owner_stage_created'), 'opportunities',
        ['org_id', 'owner_id', 'stage_id', 'created_at', 'id'], unique=False,
    )
    op.create_index(
        op.f('ix_opportunities_org_owner_status_created'), 'opportunities',
        ['org_id', 'owner_id', 'status', 'created_at', 'id'], unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_opportunities_org_owner_status_created'), table_name='opportunities')
    op.drop_index(op.f('ix_opportunities_org_owner_stage_created'), table_name='opportunities')
