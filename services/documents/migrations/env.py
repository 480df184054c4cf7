"""Alembic environment of the documents service."""

from crmkit.migrations import run_env
from services.documents.tables import metadata

run_env(metadata)
