"""Rules of the document library and of offers, without IO."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from pathlib import PurePath

import pytest

from crmkit.auth import Caller, Role
from crmkit.errors import ForbiddenError, InvalidInput, ProblemCollector
from crmkit.values import Money
from services.documents import domain as d
from services.documents.sniffing import ContentRefused, Refusal

ORG = uuid.uuid4()


def caller(
    role: Role = Role.REP, *, groups: tuple[str, ...] = (), team: str | None = "alpha"
) -> Caller:
    return Caller(
        member_id=uuid.uuid4(),
        org_id=ORG,
        roles=frozenset({role}),
        team=team,
        groups=frozenset(groups),
    )


def problems_of(error: InvalidInput) -> dict[str, str]:
    return {".".join(p.path): p.message for p in error.problems}


# --- group access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "groups", "allowed", "expected"),
    [
        (Role.REP, (), (), True),
        (Role.REP, ("sales",), (), True),
        (Role.REP, ("sales",), ("sales",), True),
        (Role.REP, ("sales", "legal"), ("legal", "finance"), True),
        (Role.REP, (), ("legal",), False),
        (Role.REP, ("sales",), ("legal",), False),
        (Role.MANAGER, ("sales",), ("legal",), False),
        (Role.ADMIN, (), ("legal",), True),
    ],
)
def test_a_thing_is_visible_when_groups_intersect_or_no_group_is_required(
    role: Role, groups: tuple[str, ...], allowed: tuple[str, ...], expected: bool
) -> None:
    assert d.sees(caller(role, groups=groups), allowed) is expected


def test_a_document_needs_both_its_folder_and_itself_visible() -> None:
    rep = caller(groups=("sales",))
    assert d.sees_document(rep, ("sales",), ())
    assert not d.sees_document(rep, ("legal",), ())
    assert not d.sees_document(rep, (), ("legal",))
    assert d.sees_document(caller(Role.ADMIN), ("legal",), ("finance",))


def test_only_managers_and_admins_manage_the_library() -> None:
    d.require_library_manager(caller(Role.MANAGER), "create folders")
    d.require_library_manager(caller(Role.ADMIN), "create folders")
    with pytest.raises(ForbiddenError, match="only managers and admins may create folders"):
        d.require_library_manager(caller(Role.REP), "create folders")


# --- opportunity access ---------------------------------------------------------------------


def test_a_rep_sees_offers_of_their_own_opportunities_only() -> None:
    rep = caller()
    assert d.sees_opportunity(rep, d.OpportunityAccess(rep.member_id, "alpha"))
    assert not d.sees_opportunity(rep, d.OpportunityAccess(uuid.uuid4(), "alpha"))


def test_a_manager_sees_their_teams_opportunities() -> None:
    manager = caller(Role.MANAGER, team="alpha")
    assert d.sees_opportunity(manager, d.OpportunityAccess(uuid.uuid4(), "alpha"))
    assert not d.sees_opportunity(manager, d.OpportunityAccess(uuid.uuid4(), "beta"))
    assert not d.sees_opportunity(manager, d.OpportunityAccess(uuid.uuid4(), None))
    teamless = caller(Role.MANAGER, team=None)
    assert not d.sees_opportunity(teamless, d.OpportunityAccess(uuid.uuid4(), None))


def test_an_admin_sees_every_opportunity() -> None:
    admin = caller(Role.ADMIN, team=None)
    assert d.sees_opportunity(admin, d.OpportunityAccess(uuid.uuid4(), "beta"))
    assert d.sees_opportunity(admin, None)


def test_an_unknown_opportunity_is_seen_by_its_issuers_and_managers_only() -> None:
    rep, other = caller(), caller()
    assert d.sees_opportunity(rep, None, issued_by=[rep.member_id])
    assert not d.sees_opportunity(other, None, issued_by=[rep.member_id])
    assert d.sees_opportunity(caller(Role.MANAGER), None, issued_by=[rep.member_id])


def test_issuing_needs_a_visible_opportunity_once_it_is_known() -> None:
    rep = caller()
    assert d.may_issue_offer(rep, None)
    assert d.may_issue_offer(rep, d.OpportunityAccess(rep.member_id, None))
    assert not d.may_issue_offer(rep, d.OpportunityAccess(uuid.uuid4(), "alpha"))


# Templates and rendering: test_rendering.py.


# --- content --------------------------------------------------------------------------------


def test_content_carries_its_size_and_sha256() -> None:
    problems = ProblemCollector()
    content = d.check_content(b"hello", "Text/Markdown", d.DocumentKind.NDA, problems)
    assert problems.problems == []
    assert content.size == 5
    assert content.media_type == "text/markdown"
    assert content.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert content.text() == "hello"
    assert d.Content(b"\xff", "application/pdf", "").text() is None


def staged(size: int) -> d.StagedFile:
    return d.StagedFile(PurePath("staged"), "application/pdf", "0" * 64, size, b"%PDF-")


def test_content_over_the_limit_empty_or_with_a_bad_media_type_is_refused() -> None:
    problems = ProblemCollector()
    d.check_content(staged(d.MAX_FILE_BYTES + 1), "nonsense", d.DocumentKind.OTHER, problems)
    assert {".".join(p.path): p.message for p in problems.problems} == {
        "content": "must be at most 52428800 bytes",
        "mediaType": "must be a media type such as text/markdown",
    }
    problems = ProblemCollector()
    d.check_content(b"", "text/plain", d.DocumentKind.OTHER, problems)
    assert [p.message for p in problems.problems] == ["must not be empty"]


def test_content_at_the_limit_is_accepted() -> None:
    problems = ProblemCollector()
    d.check_content(staged(d.MAX_FILE_BYTES), "application/pdf", d.DocumentKind.OTHER, problems)
    assert problems.problems == []


def test_a_staged_offer_template_is_refused_for_its_size() -> None:
    problems = ProblemCollector()
    d.check_content(staged(d.MAX_CONTENT_BYTES + 1), "text/plain", d.DocumentKind.OFFER_TEMPLATE,
                    problems)
    assert [p.message for p in problems.problems] == [
        "an offer template must be at most 5242880 bytes"
    ]


def test_the_sniffed_type_makes_the_declared_one_canonical() -> None:
    content = d.Content(b"%PDF-1.7\n", "image/jpg", "")
    with pytest.raises(ContentRefused) as refused:
        d.check_sniffed(content)
    assert refused.value.reason is Refusal.TYPE_MISMATCH
    pdf = d.check_sniffed(d.Content(b"%PDF-1.7\n", "application/x-pdf; v=1", ""))
    assert pdf.media_type == "application/pdf"
    assert d.check_sniffed(staged(10)).media_type == "application/pdf"


def test_blobs_are_kept_per_org_by_their_sha256() -> None:
    org = uuid.uuid4()
    assert d.blob_key(org, "ab" * 32) == f"{org}/{'ab' * 32}"


def test_only_offer_templates_are_checked_as_templates() -> None:
    problems = ProblemCollector()
    d.check_content(b"costs $5", "text/plain", d.DocumentKind.PRICE_LIST, problems)
    assert problems.problems == []
    d.check_content(b"costs $5", "text/plain", d.DocumentKind.OFFER_TEMPLATE, problems)
    assert [p.path for p in problems.problems] == [("content",)]


# --- names, groups, money ---------------------------------------------------------------------


def test_group_lists_are_trimmed_deduplicated_and_sorted() -> None:
    problems = ProblemCollector()
    assert d.clean_groups([" sales", "legal", "sales "], "allowedGroups", problems) == [
        "legal",
        "sales",
    ]
    assert problems.problems == []


def test_bad_group_names_are_reported_with_their_index() -> None:
    problems = ProblemCollector()
    d.clean_groups(["ok", " ", "x" * 101], "allowedGroups", problems)
    assert [".".join(p.path) for p in problems.problems] == ["allowedGroups.1", "allowedGroups.2"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "must not be empty"),
        ("a" * 201, "must be at most 200 characters"),
        ("a\x00b", "must not contain control characters"),
    ],
)
def test_bad_names_are_refused(name: str, message: str) -> None:
    problems = ProblemCollector()
    d.clean_name(name, "name", problems, d.MAX_NAME_LENGTH)
    assert [p.message for p in problems.problems] == [message]


def test_offer_input_gathers_every_problem() -> None:
    problems = ProblemCollector()
    d.check_offer_input(
        title="",
        values=[("client", "A"), ("client", "B")],
        amount="12.345",
        currency="euro",
        problems=problems,
    )
    assert {".".join(p.path) for p in problems.problems} == {
        "title",
        "values.1.name",
        "amount",
        "currency",
    }


def test_money_is_a_decimal_with_an_iso_currency() -> None:
    problems = ProblemCollector()
    title, values, money = d.check_offer_input(
        title=" Offer ", values=[("a", "1")], amount="1200.5", currency="eur", problems=problems
    )
    assert problems.problems == []
    assert (title, values) == ("Offer", {"a": "1"})
    assert money == Money.of(Decimal("1200.50"), "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "path"),
    [
        (None, "EUR", "amount"),
        ("10", None, "currency"),
        ("-1", "EUR", "amount"),
        ("NaN", "EUR", "amount"),
        ("abc", "EUR", "amount"),
        ("1e30", "EUR", "amount"),
    ],
)
def test_bad_money_is_refused(amount: str | None, currency: str | None, path: str) -> None:
    problems = ProblemCollector()
    assert d.check_money(amount, currency, problems) is None
    assert [".".join(p.path) for p in problems.problems] == [path]


def test_no_money_is_fine() -> None:
    problems = ProblemCollector()
    assert d.check_money(None, None, problems) is None
    assert problems.problems == []
