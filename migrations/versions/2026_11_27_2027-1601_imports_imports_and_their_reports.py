"""imports: imports and their reports

Revision ID: 1601
Revises: 1201
Create Date: 2026-11-27 20:27:20.865679
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import repo.db

revision: str = '1601'
down_revision: str | None = '1201'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('stored', sa.String(length=500), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('publish', sa.Boolean(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('files_dir', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('actor_centres', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('heartbeat_at', repo.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', repo.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', repo.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', repo.db.UTCDateTime(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('linked', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['member_centres.id'], name=op.f('fk_imports_centre_id_member_centres'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], name=op.f('fk_imports_collection_id_collections'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imports_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imports_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_imports_status'), ['status'], unique=False)

    op.create_table('import_problems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=True),
    sa.Column('external_id', sa.String(length=1000), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('field', sa.String(length=500), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('work_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_problems_import_id_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_problems'))
    )
    with op.batch_alter_table('import_problems', schema=None) as batch_op:
        batch_op.create_index('ix_import_problems_import_id_id', ['import_id', 'id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('import_problems', schema=None) as batch_op:
        batch_op.drop_index('ix_import_problems_import_id_id')

    op.drop_table('import_problems')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_status'))
        batch_op.drop_index(batch_op.f('ix_imports_sha256'))
        batch_op.drop_index(batch_op.f('ix_imports_centre_id'))

    op.drop_table('imports')

