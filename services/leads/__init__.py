"""The leads service: lead base, sales roster and pool, CSV import, clients, conversion."""
