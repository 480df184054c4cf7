"""Clients are found by name or domain in any case, with or without Polish letters: the
search form of both kept beside them, filled in for the clients there are.

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.leads.domain import account_search_text

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('accounts', sa.Column('search_text', sa.Text(), nullable=False,
                                        server_default=sa.text("''")))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name, domain FROM accounts")).all()
    if rows:  # one executemany at pod start, not a round trip per client
        bind.execute(sa.text("UPDATE accounts SET search_text = :text WHERE id = :id"),
                     [{"text": account_search_text(name, domain), "id": account_id}
                      for account_id, name, domain in rows])


def downgrade() -> None:
    op.drop_column('accounts', 'search_text')
