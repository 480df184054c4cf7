"""Contact people change and go: the copy keeps the newest event's version, and a removed
contact's row stays without their details.

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
    # Every row held so far came from a contact.created event: version 1.
    op.add_column('contacts', sa.Column('aggregate_version', sa.Integer(), nullable=False,
                                        server_default='1'))
    op.alter_column('contacts', 'aggregate_version', server_default=None)
    op.add_column('contacts', sa.Column('removed', sa.Boolean(), nullable=False,
                                        server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('contacts', 'removed')
    op.drop_column('contacts', 'aggregate_version')
