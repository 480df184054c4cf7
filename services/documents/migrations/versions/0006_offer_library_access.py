"""Who may read the offer library: groups an admin chose.

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('offer_library_access',
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('allowed_groups', postgresql.ARRAY(sa.String(length=100)),
              server_default=sa.text("'{}'"), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_offer_library_access'))
    )


def downgrade() -> None:
    op.drop_table('offer_library_access')
