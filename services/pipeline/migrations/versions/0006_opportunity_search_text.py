"""The board's text filter finds a deal by name in any case, with or without Polish letters:
the name's search form kept beside it, filled in for the deals there are.

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crmkit.values import search_form

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('opportunities', sa.Column('search_text', sa.Text(), nullable=False,
                                             server_default=sa.text("''")))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM opportunities")).all()
    if rows:  # one executemany at pod start, not a round trip per deal
        bind.execute(sa.text("UPDATE opportunities SET search_text = :text WHERE id = :id"),
                     [{"text": search_form(name), "id": opportunity_id}
                      for opportunity_id, name in rows])


def downgrade() -> None:
    op.drop_column('opportunities', 'search_text')
