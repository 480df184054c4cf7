import uuid

import pytest

from crmkit.auth import Caller, Role
from crmkit.errors import ForbiddenError, ProblemCollector
from services.leads import domain
from services.leads.domain import CapExceeded, InvalidLeadState, LeadStatus
from services.leads.nip import nip_digits


def fields(**overrides):
    values = dict(
        company="ACME Sp. z o.o.", contact_name="Jan Kowalski", email=" Jan@Acme.pl ",
        phone="601 234 567", website=None, source="fair", notes=None, tags="a; b, a",
        priority="3", region="PL",
    )
    values.update(overrides)
    problems = ProblemCollector()
    return domain.build_lead_fields(problems=problems, **values), problems.problems


def test_lead_fields_are_normalised():
    lead, problems = fields()
    assert problems == []
    assert (lead.email, lead.phone, lead.domain, lead.company_key) == (
        "jan@acme.pl", "+48601234567", "acme.pl", "acme"
    )
    assert lead.tags == ("a", "b")
    assert lead.priority == 3


def test_notes_keep_their_lines_and_other_text_is_one_line():
    lead, problems = fields(notes="  Met at the fair.\r\n\tCall in January.\n ",
                            company="ACME\n  Sp. z o.o.")
    assert problems == []
    assert lead.notes == "Met at the fair.\n\tCall in January."  # a browser's CRLF as LF
    assert lead.company == "ACME Sp. z o.o."
    assert fields(notes=" \n ")[0].notes is None
    _, problems = fields(notes="a\x00b")
    assert [p.path[0] for p in problems] == ["notes"]


def test_every_problem_is_reported_at_once():
    _, problems = fields(company=" ", contact_name=None, email="x@", phone="12", priority="high")
    assert {p.path[0] for p in problems} == {"company", "email", "phone", "priority"}


@pytest.mark.parametrize(
    ("a", "b", "matched"),
    [
        (dict(email="a@x.pl"), dict(email="a@x.pl", phone="+48601000000"), ["email"]),
        (dict(phone="+48601000000"), dict(phone="+48601000000"), ["phone"]),
        (dict(domain="x.pl", company_key="x"), dict(domain="x.pl", company_key="x"),
         ["domain and company"]),
        (dict(domain="x.pl", company_key="x"), dict(domain="x.pl", company_key="y"), []),
        (dict(domain="x.pl"), dict(domain="x.pl"), []),
        (dict(), dict(), []),
    ],
)
def test_dedupe_keys(a, b, matched):
    key = dict(email=None, phone=None, domain=None, company_key=None)
    left = domain.DedupeKeys(**{**key, **a})
    right = domain.DedupeKeys(**{**key, **b})
    assert left.matched_on(right) == matched


def test_empty_dedupe_keys():
    assert domain.DedupeKeys(None, None, "x.pl", None).is_empty
    assert not domain.DedupeKeys("a@x.pl", None, None, None).is_empty


def caller(role, team="alpha"):
    return Caller(member_id=uuid.uuid4(), org_id=uuid.uuid4(), roles=frozenset({role}), team=team)


def test_visibility_matrix():
    rep, manager, admin = caller(Role.REP), caller(Role.MANAGER), caller(Role.ADMIN)
    other = uuid.uuid4()
    assert domain.can_see_lead(rep, None, None)
    assert domain.can_see_lead(rep, rep.member_id, "alpha")
    assert not domain.can_see_lead(rep, other, "alpha")
    assert domain.can_see_lead(manager, other, "alpha")
    assert not domain.can_see_lead(manager, other, "beta")
    assert domain.can_see_lead(admin, other, "beta")


def test_member_management():
    assert domain.can_manage_member(caller(Role.MANAGER), "alpha")
    assert not domain.can_manage_member(caller(Role.MANAGER), "beta")
    assert not domain.can_manage_member(caller(Role.MANAGER, team=None), None)
    assert not domain.can_manage_member(caller(Role.REP), "alpha")
    assert domain.can_manage_member(caller(Role.ADMIN, team=None), "beta")
    with pytest.raises(ForbiddenError):
        domain.require_manager_of(caller(Role.REP), "alpha", "set a lead cap")


def test_cap_rules():
    assert domain.effective_cap(None, 50) == 50
    assert domain.effective_cap(0, 50) == 0
    assert domain.claimable(cap=50, active=48, requested=5) == 2
    assert domain.claimable(cap=10, active=12, requested=5) == 0
    domain.check_assignment_fits(uuid.uuid4(), cap=5, active=3, incoming=2)
    with pytest.raises(CapExceeded) as error:
        domain.check_assignment_fits(uuid.uuid4(), cap=5, active=3, incoming=4)
    assert (error.value.fits, error.value.requested) == (2, 4)
    problems = ProblemCollector()
    domain.validate_cap(-1, problems)
    assert problems.problems


def test_claim_and_release_transitions():
    assert domain.status_after_claim(LeadStatus.NEW, None) is LeadStatus.ASSIGNED
    assert domain.status_after_claim(LeadStatus.CONTACTED, None) is LeadStatus.CONTACTED
    with pytest.raises(InvalidLeadState):
        domain.status_after_claim(LeadStatus.NEW, uuid.uuid4())
    with pytest.raises(InvalidLeadState):
        domain.status_after_claim(LeadStatus.CONVERTED, None)
    assert domain.status_after_release(LeadStatus.ASSIGNED, uuid.uuid4()) is LeadStatus.NEW
    assert domain.status_after_release(LeadStatus.QUALIFIED, uuid.uuid4()) is LeadStatus.QUALIFIED
    with pytest.raises(InvalidLeadState):
        domain.status_after_release(LeadStatus.NEW, None)


def test_explicit_status_changes():
    owner = uuid.uuid4()
    domain.check_status_change(LeadStatus.ASSIGNED, LeadStatus.CONTACTED, owner)
    domain.check_status_change(LeadStatus.CONTACTED, LeadStatus.QUALIFIED, owner)
    domain.check_status_change(LeadStatus.NEW, LeadStatus.DISQUALIFIED, None)
    with pytest.raises(InvalidLeadState):
        domain.check_status_change(LeadStatus.NEW, LeadStatus.CONTACTED, None)
    with pytest.raises(InvalidLeadState):
        domain.check_status_change(LeadStatus.DISQUALIFIED, LeadStatus.CONTACTED, owner)
    with pytest.raises(InvalidLeadState):
        domain.check_convertible(LeadStatus.CONVERTED)
    assert not LeadStatus.CONVERTED.is_active and LeadStatus.QUALIFIED.is_active


def test_account_fields_validate_nip_and_domain():
    problems = ProblemCollector()
    account = domain.build_account_fields(
        name="Acme", domain=None, website="https://acme.pl/", nip="123-456-32-18",
        address=None, problems=problems,
    )
    assert problems.problems == []
    assert (account.domain, account.nip) == ("acme.pl", "1234563218")
    problems = ProblemCollector()
    domain.build_account_fields(
        name="", domain="bad domain", website=None, nip="1234563219", address=None,
        problems=problems,
    )
    assert {p.path[0] for p in problems.problems} == {"name", "domain", "nip"}


@pytest.mark.parametrize(
    ("amount", "currency", "bad"),
    [("100.50", "pln", set()), ("-1", "PLN", {"amount"}), ("1.00001", "EUR", {"amount"}),
     ("x", "EURO", {"amount", "currency"})],
)
def test_money(amount, currency, bad):
    problems = ProblemCollector()
    domain.validate_money(amount, currency, problems, "")
    assert {p.path[0] for p in problems.problems} == bad


@pytest.mark.parametrize(("search", "digits"), [
    ("526-025-02-74", "5260250274"), ("PL 5260250274", "5260250274"), ("pl526", "526"),
    ("52", None), ("Acme 526", None), ("", None), ("---", None),
])
def test_a_search_typed_as_a_nip_is_its_digits(search: str, digits: str | None) -> None:
    assert nip_digits(search) == digits


def test_a_client_is_searched_by_name_and_domain_without_case_or_polish_letters() -> None:
    assert domain.account_search_text("Żółć Łódź S.A.", "ZOLC.pl") == "zolc lodz s.a. zolc.pl"
    assert domain.account_search_text("Acme", None) == "acme"
