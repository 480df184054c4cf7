"""A service is ready only on a schema at least as new as its code's."""

from __future__ import annotations

from crmkit.migrations import SchemaCheck, service_migrations

CHECK = SchemaCheck(heads=frozenset({"0003"}), known=frozenset({"0001", "0002", "0003"}))


def test_the_head_is_current() -> None:
    assert CHECK.is_current({"0003"})


def test_an_older_revision_or_none_is_not() -> None:
    assert not CHECK.is_current({"0002"})
    assert not CHECK.is_current(set())


def test_a_revision_the_code_does_not_know_is_a_newer_release() -> None:
    assert CHECK.is_current({"0004"})


def test_every_service_has_migrations_the_check_can_read() -> None:
    for service in ("leads", "pipeline", "documents", "reporting", "notifications"):
        check = SchemaCheck.of(service_migrations(service))
        assert len(check.heads) == 1
        assert check.heads <= check.known
