"""Folders nest one level, are archived, and have write groups apart from read groups;
documents are soft-deleted (who and when).

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('folders', sa.Column('parent_id', sa.Uuid(), nullable=True))
    op.add_column('folders', sa.Column('write_groups', postgresql.ARRAY(sa.String(length=100)),
                                       server_default=sa.text("'{}'"), nullable=False))
    op.add_column('folders', sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('folders', sa.Column('archived_by', sa.Uuid(), nullable=True))
    op.create_foreign_key(op.f('fk_folders_parent_id_folders'), 'folders', 'folders',
                          ['parent_id'], ['id'])
    op.create_index('ix_folders_parent', 'folders', ['parent_id'], unique=False)
    op.add_column('documents', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('documents', sa.Column('deleted_by', sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column('documents', 'deleted_by')
    op.drop_column('documents', 'deleted_at')
    op.drop_index('ix_folders_parent', table_name='folders')
    op.drop_constraint(op.f('fk_folders_parent_id_folders'), 'folders', type_='foreignkey')
    op.drop_column('folders', 'archived_by')
    op.drop_column('folders', 'archived_at')
    op.drop_column('folders', 'write_groups')
    op.drop_column('folders', 'parent_id')
