"""Notes on deals.

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'notes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('org_id', sa.Uuid(), nullable=False),
        sa.Column('opportunity_id', sa.Uuid(), nullable=False),
        sa.Column('author_id', sa.Uuid(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'],
                                name=op.f('fk_notes_opportunity_id_opportunities'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notes')),
    )
    op.create_index('ix_notes_opportunity', 'notes',
                    ['org_id', 'opportunity_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notes_opportunity', table_name='notes')
    op.drop_table('notes')
