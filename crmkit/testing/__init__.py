"""Test harness: real PostgreSQL and NATS for integration and end-to-end tests."""
