"""Clients are found by their contact people's names and emails too, in any case and with or
without Polish letters: each contact's search form kept beside it, filled in for the contacts
there are.

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.leads.domain import contact_search_text

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('contacts', sa.Column('search_text', sa.Text(), nullable=False,
                                        server_default=sa.text("''")))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name, email FROM contacts")).all()
    if rows:  # one executemany at pod start, not a round trip per contact
        bind.execute(sa.text("UPDATE contacts SET search_text = :text WHERE id = :id"),
                     [{"text": contact_search_text(name, email), "id": contact_id}
                      for contact_id, name, email in rows])


def downgrade() -> None:
    op.drop_column('contacts', 'search_text')
