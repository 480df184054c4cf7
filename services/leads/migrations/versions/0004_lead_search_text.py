"""Leads are found by company, contact person or email in any case, with or without Polish
letters: their search form kept beside them, filled in for the leads there are.

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.leads.domain import lead_search_text

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('leads', sa.Column('search_text', sa.Text(), nullable=False,
                                     server_default=sa.text("''")))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, company, contact_name, email FROM leads")).all()
    if rows:  # one executemany at pod start, not a round trip per lead
        bind.execute(sa.text("UPDATE leads SET search_text = :text WHERE id = :id"),
                     [{"text": lead_search_text(company, contact, email), "id": lead_id}
                      for lead_id, company, contact, email in rows])


def downgrade() -> None:
    op.drop_column('leads', 'search_text')
