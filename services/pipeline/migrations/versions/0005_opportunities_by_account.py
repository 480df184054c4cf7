"""A client's deals, newest first (its page in the web app).

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_opportunities_org_account_created', 'opportunities',
                    ['org_id', 'account_id', 'created_at', 'id'], unique=False,
                    postgresql_where=sa.text('account_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_opportunities_org_account_created', table_name='opportunities',
                  postgresql_where=sa.text('account_id IS NOT NULL'))
