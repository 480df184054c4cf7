"""A member's name takes up to 300 characters, as the leads service keeps it (a longer one
from the identity provider would have stopped the roster's events here).

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
    op.alter_column("members", "name", type_=sa.String(300), existing_nullable=True,
                    schema="reporting")


def downgrade() -> None:
    op.alter_column("members", "name", type_=sa.String(200), existing_nullable=True,
                    schema="reporting")
