"""New versions' bytes in the blob store (content NULL), files up to 50 MB (ADR 0015).

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column('document_versions', 'content', existing_type=sa.LargeBinary(),
                    nullable=True)
    op.drop_constraint(op.f('ck_document_versions_size_limit'), 'document_versions',
                       type_='check')
    op.create_check_constraint(op.f('ck_document_versions_size_limit'), 'document_versions',
                               'size_bytes <= 52428800')


def downgrade() -> None:
    # Versions whose bytes are in the blob store cannot go back into a NOT NULL column.
    op.drop_constraint(op.f('ck_document_versions_size_limit'), 'document_versions',
                       type_='check')
    op.create_check_constraint(op.f('ck_document_versions_size_limit'), 'document_versions',
                               'size_bytes <= 5242880', postgresql_not_valid=True)
    op.alter_column('document_versions', 'content', existing_type=sa.LargeBinary(),
                    nullable=False)
