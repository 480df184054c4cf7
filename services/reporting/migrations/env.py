"""Alembic env of reporting: the kit's ``run_env``, plus the ``reporting`` schema where the
read tables live (``include_schemas`` so autogenerate sees them)."""

from crmkit.migrations import run_env
from services.reporting.tables import metadata


def _ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Only the default schema and ``reporting`` (not rebuild leftovers or other schemas)."""
    if type_ == "schema":
        return name in (None, "public", "reporting")
    return True


run_env(metadata, include_schemas=True, include_name=_ours)
