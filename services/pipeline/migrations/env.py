"""Alembic environment of the pipeline service."""

from crmkit.migrations import run_env
from services.pipeline.tables import metadata

run_env(metadata)
