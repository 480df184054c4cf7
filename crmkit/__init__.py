"""Shared plumbing of the CRM services: settings, database, outbox/inbox, bus, auth, HTTP app.

The kit imports no service and no gateway code; they import it.
"""
