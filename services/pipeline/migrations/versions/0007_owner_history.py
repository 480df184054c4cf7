"""Each handover of a deal to another owner, kept for the deal's page.

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'owner_history',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('org_id', sa.Uuid(), nullable=False),
        sa.Column('opportunity_id', sa.Uuid(), nullable=False),
        sa.Column('from_owner_id', sa.Uuid(), nullable=False),
        sa.Column('to_owner_id', sa.Uuid(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_by', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                                name=op.f('fk_owner_history_opportunity_id_opportunities'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_history')),
    )
    op.create_index('ix_owner_history_opportunity', 'owner_history',
                    ['opportunity_id', 'changed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_owner_history_opportunity', table_name='owner_history')
    op.drop_table('owner_history')
