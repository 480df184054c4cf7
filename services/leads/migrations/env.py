from crmkit.migrations import run_env
from services.leads.tables import metadata

run_env(metadata)
