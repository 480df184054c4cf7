"""Pages' typed errors where they belong, the CSV import's dry run, the session cookie and
CSRF protection, and GraphiQL working with no network but the gateway's own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from crmkit.db import SERVICES
from crmkit.embedded import free_port
from crmkit.settings import DEV_JWT_SECRET

from .conftest import Watch, Web, typed, unique
from .flows import eventually, new_org

pytestmark = pytest.mark.e2e

M_CREATE = """mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
  __typename ... on OpportunityPayload { opportunity { id version } } } }"""
M_RENAME = """mutation($id: ID!, $v: Int!, $name: String!) {
  updateOpportunity(id: $id, expectedVersion: $v, patch: {name: $name}) { __typename } }"""


def test_a_stale_edit_shows_the_current_version(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    created = rep(M_CREATE, {"input": {"name": unique("Deal"), "amount": "5000",
                                       "currency": "PLN"}})["createOpportunity"]
    deal = created["opportunity"]

    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals/{deal['id']}"))
    # Someone else renames it meanwhile.
    rep(M_RENAME, {"id": deal["id"], "v": deal["version"], "name": "Renamed elsewhere"})
    fields = page.locator("#deal-fields form")
    fields.locator("[name=needs]").fill("My stale edit")
    fields.locator("button[type=submit]").click()
    expect(page.locator("#deal-fields .alert-error")).to_be_visible()
    expect(page.locator("#deal-fields [name=name]")).to_have_value("Renamed elsewhere")
    # The form now carries the current version: saving again goes through.
    page.locator("#deal-fields [name=needs]").fill("My edit, again")
    page.locator("#deal-fields button[type=submit]").click()
    expect(page.locator("#deal-fields .badge-success")).to_be_visible()


def test_a_value_the_api_cannot_take_shows_in_the_pages_flash(web: Web) -> None:
    """A budget typed as words is refused before any rule runs (no Decimal); the page's script
    gets the refusal into the flash instead of nothing happening."""
    org = new_org(web)
    rep = web.api(org["rep"])
    deal = rep(M_CREATE, {"input": {"name": unique("Deal"), "amount": "5000",
                                    "currency": "PLN"}})["createOpportunity"]["opportunity"]
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url(f"/deals/{deal['id']}"))
    fields = page.locator("#deal-fields form")
    fields.locator("[name=budgetAmount]").fill("lots")
    fields.locator("button[type=submit]").click()
    expect(page.locator("#flash .flash-error")).to_contain_text("lots")
    page.locator("#flash .flash-close").click()  # closes without an inline handler
    expect(page.locator("#flash .flash-error")).to_have_count(0)


def test_a_control_character_in_a_new_lead_shows_beside_its_field(web: Web) -> None:
    """Text pasted with a control character is the mutation's ValidationError, shown where
    the form's other invalid input shows; no lead is made."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/leads"))
    form = page.locator("form[method=post][action='/leads']")
    company = unique("Acme")
    form.locator("[name=company]").fill(company + "\x1b[31m")
    form.locator("[name=contactName]").fill("Anna Nowak")
    form.get_by_role("button", name="Add to the pool").click()
    invalid = form.locator(".field.invalid")
    expect(invalid).to_have_count(1)
    expect(invalid.locator("[name=company]")).to_be_visible()
    expect(invalid.locator(".error")).to_have_text("text must not contain control characters")
    expect(form.locator("[name=contactName]")).to_have_value("Anna Nowak")
    leads = web.api(org["manager"])("{ leads { edges { node { company } } } }")["leads"]
    assert leads["edges"] == []


def test_a_control_character_in_the_search_box_shows_on_that_box(web: Web) -> None:
    """A query has no ValidationError: the service refuses its variable whole, and the page
    shows that on the box it came from (not as a failure of the CRM service)."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/leads"))
    filters = page.locator("form.filters")
    filters.locator("[name=q]").fill("acme\x1b[31m")
    filters.get_by_role("button", name="Filter").click()
    invalid = filters.locator("label.invalid")
    expect(invalid).to_have_count(1)
    expect(invalid.locator("[name=q]")).to_have_attribute("aria-invalid", "true")
    expect(invalid.locator(".error")).to_have_text("text must not contain control characters")
    expect(page.get_by_text("could not answer this request")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("Leads")
    # The same box with clean text filters as before.
    filters.locator("[name=q]").fill("acme")
    filters.get_by_role("button", name="Filter").click()
    expect(filters.locator("label.invalid")).to_have_count(0)


def test_a_control_character_in_the_board_search_shows_on_that_box(web: Web) -> None:
    """The board's search box redraws the columns as one types: the error comes with them,
    beside the box; a full page load shows it too."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/"))
    search = page.locator("#f-q")
    search.fill("deal\x1b[31m")
    search.press("Enter")
    error = page.locator("#e-filter-q")
    expect(error).to_have_text("text must not contain control characters")
    expect(page.get_by_text("could not answer this request")).to_have_count(0)
    expect(page.locator("#board .column").first).to_be_visible()
    search.fill("deal")
    search.press("Enter")
    expect(error).to_have_text("")
    page.goto(web.url("/?q=deal%1B"))
    invalid = page.locator("form.filters label.invalid")
    expect(invalid.locator("#f-q")).to_have_attribute("aria-invalid", "true")
    expect(invalid.locator(".error")).to_have_text("text must not contain control characters")


M_LEAD = """mutation($c: String!, $e: String!) { createLead(input: {company: $c, email: $e}) {
  __typename } }"""


def test_deals_and_leads_are_found_without_polish_letters(web: Web) -> None:
    """The board's and the leads' search boxes find Polish names typed in any case, with or
    without the Polish letters (the databases' C locale folds only ASCII)."""
    org = new_org(web)
    manager = web.api(org["manager"])
    tag = uuid.uuid4().hex[:6]
    for name in (f"Wdrożenie Łódź {tag}", f"Vans {tag}"):
        typed(manager(M_CREATE, {"input": {"name": name, "amount": "5000", "currency": "PLN"}})[
            "createOpportunity"], "OpportunityPayload")
    for n, company in enumerate((f"Żółta Łąka {tag}", f"Acme {tag}")):
        typed(manager(M_LEAD, {"c": company, "e": f"l{n}.{tag}@example.pl"})["createLead"],
              "LeadPayload")
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/"))
    search = page.locator("#f-q")
    search.fill(f"WDROZENIE lodz {tag}")
    search.press("Enter")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card").first).to_contain_text(f"Wdrożenie Łódź {tag}")
    page.goto(web.url("/leads"))
    filters = page.locator("form.filters")
    filters.locator("[name=q]").fill(f"zolta LAKA {tag}")
    filters.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Żółta Łąka {tag}")


def test_a_control_character_in_the_pool_search_shows_on_that_box(web: Web) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/pool"))
    page.locator("#pool-q").fill("lead\x1b[31m")
    page.locator("#pool-q").press("Enter")
    expect(page.locator("#e-pool-q")).to_have_text("text must not contain control characters")
    expect(page.locator("#pool-q")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("could not answer this request")).to_have_count(0)
    page.locator("#pool-q").fill("lead")
    page.locator("#pool-q").press("Enter")
    expect(page.locator("#e-pool-q")).to_have_count(0)


def test_a_control_character_no_box_holds_says_what_is_wrong(web: Web) -> None:
    """The team page has no search box of its own: text in its address still says what is
    wrong with it, not that the service failed."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/pool/team?q=acme%1B"))
    expect(page.get_by_text("text must not contain control characters")).to_be_visible()
    expect(page.get_by_text("could not answer this request")).to_have_count(0)


def test_the_csv_import_reports_a_dry_run_then_imports(web: Web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    org = new_org(web)
    taken = unique("Existing")
    web.api(org["manager"])(
        "mutation($c: String!) { createLead(input: {company: $c, email: \"x@taken.pl\"}) "
        "{ __typename } }", {"c": taken})
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "firma;e-mail;telefon\n"
        f"{unique('Alpha')};alpha@example.pl;\n"
        f"{unique('Beta')};beta@example.pl;\n"
        f"{taken};x@taken.pl;\n"
        f"{unique('Gamma')};not an email;\n",
        encoding="utf-8",
    )
    page = web.page()
    web.sign_in(page, org["manager"])
    page.goto(web.url("/pool/import"))
    page.locator("#f-file").set_input_files(str(csv))
    page.locator("form[enctype] button[type=submit]").click()
    report = page.locator("#import-report")
    expect(report.locator("[data-created]")).to_have_text("2")
    expect(report.locator("[data-duplicates]")).to_have_text("1")
    expect(report.locator("[data-invalid]")).to_have_text("1")
    expect(report).to_contain_text("4")  # the duplicate's line
    expect(report).to_contain_text("5")  # the invalid row's line
    page.locator("#import-report form button[type=submit]").click()
    expect(page.locator("#import-report h2")).to_have_text("Import finished")
    page.goto(web.url("/pool"))
    expect(page.locator("#pool")).to_contain_text("Alpha")


def test_the_session_cookie_and_csrf(web: Web) -> None:
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["rep"])
    cookie = next(c for c in web.context.cookies() if c["name"] == "crm_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""
    assert org["rep"].token not in cookie["value"]  # sealed, not merely signed

    jar = {"crm_session": cookie["value"]}
    with httpx.Client(base_url=web.base, cookies=jar, timeout=10) as client:
        # The session works for a page...
        assert client.get("/pool").status_code == 200
        # ...but no state change without the session's CSRF token,
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            refused = client.post("/pool/claim", data={"count": "1"}, headers=headers)
            assert refused.status_code == 403
        # nor from another site, even with it.
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/pool").text)
        assert token is not None
        cross = client.post("/pool/claim", data={"count": "1"}, headers={
            "X-CSRF-Token": token.group(1), "Origin": "https://evil.example"})
        assert cross.status_code == 403
        allowed = client.post("/pool/claim", data={"count": "1", "csrf_token": token.group(1)})
        assert allowed.status_code == 200
    # Signing out forgets the member.
    page.goto(web.url("/"))
    page.locator("details.usermenu:not(.bell) summary").click()
    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(re.compile("/sign-in"))
    page.goto(web.url("/pool"))
    expect(page).to_have_url(re.compile("/sign-in"))


def test_pages_come_with_a_security_policy_and_work_under_it(web: Web) -> None:
    """No inline script runs (the context fails the test on anything the policy refuses), no
    other site may frame a page, and what were inline handlers still work."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["rep"])
    answer = page.goto(web.url("/"))
    assert answer is not None
    headers = answer.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    asset = httpx.get(web.url("/static/app.js"), timeout=10)
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("cache-control", "")

    # The language menu submits itself on a change.
    page.locator("#lang-select").select_option("pl")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    # The calendar feed's address is selected whole on a click, to copy it.
    page.goto(web.url("/notifications/settings"))
    feed = page.locator("input[data-select-on-click]")
    feed.click()
    assert page.evaluate("""() => { const f = document.querySelector("[data-select-on-click]");
        return f.selectionStart === 0 && f.selectionEnd === f.value.length
               && f.value.length > 0; }""")


def test_metrics_are_not_served_through_the_public_origin(web: Web) -> None:
    """Prometheus scrapes the pod; the ingress, which sends every other path of the public
    origin to the web app, adds X-Forwarded-For."""
    scraped = httpx.get(web.url("/metrics"), timeout=10)
    assert scraped.status_code == 200 and "crm_web_requests_total" in scraped.text
    for header in ({"X-Forwarded-For": "203.0.113.7"}, {"Forwarded": "for=203.0.113.7"}):
        public = httpx.get(web.url("/metrics"), headers=header, timeout=10)
        assert public.status_code == 404 and "crm_web" not in public.text


@pytest.fixture
def dev_gateway(web: Web) -> Iterator[str]:
    """A second gateway over the same services, in dev mode (which serves GraphiQL)."""
    stack = web.system.stack
    port = free_port()
    env = {**os.environ, "CRM_ENVIRONMENT": "dev", "CRM_GATEWAY_PORT": str(port),
           "CRM_JWT_SECRET": DEV_JWT_SECRET}
    env.update({f"CRM_{name.upper()}_PORT": str(stack.ports[name]) for name in SERVICES})
    process = subprocess.Popen([sys.executable, "-m", "gateway"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            try:
                return httpx.get(url + "/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(ready, 30)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_graphiql_works_offline(web: Web, watch: Watch, dev_gateway: str) -> None:
    watch.allowed.add(dev_gateway)
    page = web.page()
    page.goto(dev_gateway + "/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()
    # The editors are GraphiQL's own (its scripts ran), and nothing came from elsewhere.
    eventually(lambda: page.locator(".graphiql-editor").count() > 0, 10)


def test_documents_upload_a_new_version_and_download(web: Web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["admin"])
    page.goto(web.url("/documents"))
    folder = page.locator("form[action='/documents/folders']")
    folder.locator("[name=name]").fill("Price lists")
    folder.locator("[name=groups]").fill("sales")
    folder.locator("button").click()
    page.wait_for_url(re.compile(r"/documents\?folder="))
    first = tmp_path / "prices.txt"
    first.write_text("Licence: 100 PLN\n", encoding="utf-8")
    upload = page.locator("form[action='/documents/uploads']")
    upload.locator("[name=kind]").select_option("PRICE_LIST")
    upload.locator("[name=file]").set_input_files(str(first))
    upload.locator("button").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    expect(page.locator("h1")).to_have_text("prices.txt")
    second = tmp_path / "prices-2027.txt"
    second.write_text("Licence: 120 PLN\n", encoding="utf-8")
    page.locator("#v-file").set_input_files(str(second))
    page.locator("form[action$='/uploads'] button").click()
    expect(page.locator(".alert-success")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    with page.expect_download() as download:
        rows.first.locator("a").click()  # the newest version first
    saved = tmp_path / "downloaded"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8") == "Licence: 120 PLN\n"


def test_the_calendar_completes_a_call_and_lists_deals_without_a_next_contact(web: Web) -> None:
    org = new_org(web)
    rep = web.api(org["rep"])
    deals = []
    for name in (unique("Planned"), unique("Forgotten")):
        created = rep(M_CREATE, {"input": {"name": name, "amount": "700",
                                           "currency": "PLN"}})["createOpportunity"]
        deals.append((name, created["opportunity"]["id"]))
    planned, forgotten = deals
    rep("""mutation($input: ScheduleActivityInput!) { scheduleActivity(input: $input) {
        __typename } }""", {"input": {"opportunityId": planned[1], "kind": "CALL",
                                      "subject": "Follow-up call",
                                      "dueAt": "2030-01-01T09:00:00+00:00"}})
    page = web.page()
    web.sign_in(page, org["rep"])
    page.goto(web.url("/calendar?view=day&date=2030-01-01"))
    call = page.locator("li[data-activity]", has_text="Follow-up call")
    expect(call).to_contain_text(planned[0])
    expect(page.locator("#no-next-contact")).to_contain_text(forgotten[0])
    expect(page.locator("#no-next-contact")).not_to_contain_text(planned[0])
    call.locator("input[name=outcome]").fill("Agreed on a demo")
    call.locator("form[hx-post*='/complete'] button").click()
    expect(page.locator("li[data-activity]", has_text="Follow-up call")
           .locator(".badge-success")).to_be_visible()


def test_a_date_far_out_of_range_in_an_address_shows_today(web: Web) -> None:
    """A calendar or dashboard address with a year the API does not take (or one where the
    week's end overflows) is read as no date, not an error page."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["rep"])
    for path in ("/calendar?date=9999-12-31", "/calendar?date=0001-01-01&view=day",
                 "/dashboard?asOf=9999-12-31", "/dashboard?asOf=0001-01-01",
                 "/?from=0001-01-01&to=9999-12-31"):
        answer = page.goto(web.url(path))
        assert answer is not None and answer.status == 200, path
        expect(page.locator(".flash-error")).to_have_count(0)


ADDRESSES = {  # every page a member opens by its address, with the parameters it reads
    "/": ("pipeline", "owner", "team", "from", "to", "q", "missing", "stage"),
    "/deals": ("status", "pipeline", "owner", "team", "from", "to", "q", "account", "after",
               "sort", "handed", "to"),
    "/deals/export.csv": ("status", "owner", "team", "from", "to", "q", "account", "sort"),
    "/calendar": ("view", "date"),
    "/dashboard": ("asOf", "team", "owner"),
    "/pool": ("q", "owner", "after"),
    "/pool/team": ("q",),
    "/pool/import": (),
    "/leads": ("status", "q", "owner", "after"),
    "/leads/export.csv": ("status", "q", "owner"),
    "/accounts/export.csv": ("q",),
    "/accounts": ("q", "after"),
    "/people": ("q", "after"),
    "/people/export.csv": ("q",),
    "/documents": ("folder", "kind", "q", "after"),
    "/notifications": ("unread", "after"),
    "/notifications/settings": ("saved",),
    "/admin": (),
    "/admin/webhooks": ("endpoint",),
    "/sign-in": ("next",),
}
ODD_VALUES = ("", "x", "0", "-1", "1e309", "9999-12-31", "0001-01-01", "'\"<>&;",
              "%00", "\u202e\ufffd", "ä" * 3000, str(uuid.UUID(int=0)), "../../etc/passwd")


@pytest.mark.parametrize("role", ["admin", "rep"])
def test_odd_values_in_every_address_answer_a_page_never_an_error(web: Web, role: str) -> None:
    """Whatever a member types into an address (or an old link holds), each page answers
    with a page, a redirect or a not-found: never a server error (pages differ by role)."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org[role])
    jar = {c["name"]: c["value"] for c in web.context.cookies()}
    failed = []
    # A connection each: a server error drops its connection, and must show as itself.
    with httpx.Client(base_url=web.base, cookies=jar, timeout=30,
                      headers={"Connection": "close"}) as client:
        for path, names in ADDRESSES.items():
            for name in names or ("",):
                for value in ODD_VALUES:
                    answer = client.get(path, params={name: value} if name else None)
                    if answer.status_code >= 500:
                        failed.append(f"{path}?{name}={value[:20]!r}: {answer.status_code}")
        nothing = uuid.uuid4()  # an id of nothing at all
        for path in (f"/deals/{nothing}", f"/deals/{nothing}/close", f"/deals/{nothing}/offers",
                     f"/deals/{nothing}/fix/NEEDS", f"/deals/{nothing}/fix/x%00",
                     f"/deals/{nothing}/wait", f"/leads/{nothing}", f"/accounts/{nothing}",
                     f"/documents/{nothing}", f"/documents/{nothing}/versions/0",
                     f"/documents/{nothing}/versions/{10**30}", f"/offers/{nothing}",
                     f"/offers/{nothing}/file", f"/files/{'x' * 300}", "/files/%00"):
            answer = client.get(path)
            if answer.status_code >= 500:
                failed.append(f"{path}: {answer.status_code}")
        # A number typed past what the API's Int holds, or past 64 bits.
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/pool").text)
        assert token is not None
        for count in ("99999999999", "1" + "0" * 30, "-5"):
            answer = client.post("/pool/claim", data={"count": count, "csrf_token": token[1]})
            if answer.status_code >= 500:
                failed.append(f"POST /pool/claim count={count}: {answer.status_code}")
    assert failed == [], "\n".join(failed)


FORM_FIELDS = (  # every field a form of the app posts
    "account_id", "action", "active", "all", "allow_duplicate", "back", "cap", "count",
    "currency", "deal",
    "defaultLeadCap", "defaultRegion", "digestHour", "direction", "due", "endpoint",
    "eventTypes", "folder", "from", "groups", "id", "idleReturnDays", "items", "kind", "label",
    "language", "lead", "locale", "member", "minPriority", "name", "next", "order", "outcome",
    "owner", "pipeline", "position", "probability", "rate", "reason", "requirements", "role",
    "rottingDays", "source", "stage", "stage_name", "status", "tag", "team", "template", "to",
    "validityDays", "version", "budgetAmount", "budgetCurrency", "amount", "comment", "lessons",
    "subject", "notes", "email", "phone", "nip", "company", "contact_name", "priority",
    "expectedCloseDate")


def test_odd_values_in_every_form_answer_a_page_never_an_error(web: Web) -> None:
    """Every form of the app posted with one odd value in all its fields at once (a tampered
    hidden field, a number past what the API holds): a page or a refusal, never a server
    error. Ids in the addresses name nothing, so each form is read and checked, not applied."""
    org = new_org(web)
    page = web.page()
    web.sign_in(page, org["admin"])
    jar = {c["name"]: c["value"] for c in web.context.cookies()}
    n = uuid.uuid4()
    posts = ("/accounts", f"/accounts/{n}", f"/accounts/{n}/contacts",
             f"/accounts/{n}/contacts/{n}", f"/accounts/{n}/contacts/{n}/remove", "/calendar",
             *(f"/admin/{a}" for a in ("create_pipeline", "add_stage", "update_stage", "reorder",
                                       "remove_stage", "add_reason", "update_reason", "cap",
                                       "locale", "lead_settings", "offer_settings",
                                       "base_currency", "nothing")),
             *(f"/calendar/activities/{n}/{a}" for a in ("complete", "reschedule", "cancel", "x")),
             f"/deals/{n}/move", f"/deals/{n}/close", f"/deals/{n}/fix/NEEDS",
             f"/deals/{n}/fix/BUDGET", f"/deals/{n}/fix/NEXT_CONTACT_SCHEDULED", f"/deals/{n}",
             f"/deals/{n}/stage", f"/deals/{n}/reopen", f"/deals/{n}/owner",
             f"/deals/{n}/activities", f"/accounts/{n}/deals", "/deals/new",
             "/documents/folders", f"/documents/folders/{n}/access", f"/documents/{n}/access",
             "/pool/claim", f"/pool/leads/{n}/claim", f"/pool/leads/{n}/release",
             "/pool/team/assign", f"/pool/team/members/{n}/cap", "/leads", f"/leads/{n}",
             f"/leads/{n}/convert", f"/leads/{n}/disqualify", f"/leads/{n}/contacted",
             "/notifications/settings", "/notifications/read", f"/deals/{n}/offers",
             f"/deals/{n}/offers/{n}/accept", "/admin/webhooks", f"/admin/webhooks/{n}/enable",
             f"/admin/webhooks/deliveries/{n}/replay", "/deals/hand-over", f"/leads/{n}/erase")
    failed = []
    with httpx.Client(base_url=web.base, cookies=jar, timeout=30,
                      headers={"Connection": "close"}) as client:  # as in the test above
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/pool").text)
        assert token is not None
        for path in posts:
            for value in ("", "x", "-1", "99999999999", "1" + "0" * 30, "1e309", "2026-13-45",
                          "ä" * 3000, str(uuid.UUID(int=0))):
                form = {name: value for name in FORM_FIELDS}
                answer = client.post(path, data={**form, "csrf_token": token[1]},
                                     headers={"HX-Request": "true"} if len(value) == 1 else {})
                if answer.status_code >= 500:
                    failed.append(f"POST {path} with {value[:12]!r}: {answer.status_code}")
        # From a page's script, a refusal goes into the page's flash (htmx swaps 2xx only).
        refused = client.post(f"/deals/{n}/fix/BUDGET", headers={"HX-Request": "true"}, data={
            "budgetAmount": "lots", "budgetCurrency": "PLN", "version": "1",
            "csrf_token": token[1]})
        assert refused.status_code == 200 and refused.headers["hx-retarget"] == "#flash"
        assert "flash-error" in refused.text and "Decimal" in refused.text
        # Deals handed over that the address names as the list draws them, to anyone at all.
        for owner in ("x", str(n), "ä" * 3000):
            answer = client.post("/deals/hand-over", data={
                "deal": [f"{n}:1:Deal", f"{n}:99999999:<b>", "x:1:y"], "owner": owner,
                "back": "q=%00&after=x", "csrf_token": token[1]})
            if answer.status_code >= 500:
                failed.append(f"POST /deals/hand-over to {owner[:12]!r}: {answer.status_code}")
    assert failed == [], "\n".join(failed)
