"""Every notifications use case's rules, on the in-memory repository (no IO) with an injected
clock: which reminders and notices are made (once), what a member sees and marks read, what a
refused command leaves (nothing), the calendar feed's token, the webhook registration's
refusals and the deliveries' listing, and the morning digest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from crmkit.auth import Caller, Role
from crmkit.contracts import Envelope, Event
from crmkit.contracts import documents as doc
from crmkit.contracts import leads as ld
from crmkit.contracts import pipeline as pl
from crmkit.errors import ForbiddenError, InvalidInput, NotFoundError
from crmkit.testing.fakes import FakeUnitOfWork
from services.notifications import domain as d
from services.notifications.handlers import email, feed, inbox, preferences, reminders, webhooks
from services.notifications.handlers.common import At
from services.notifications.handlers.projections import apply_event
from services.notifications.ports import AttemptResult, PermanentFailure, TemporaryFailure
from services.notifications.settings import NotificationsSettings
from services.notifications.webhook_http import HttpWebhookSender

from .fakes import FakeNotificationsRepository, fake_uow

Uow = FakeUnitOfWork[FakeNotificationsRepository]
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
ANN, BOB, CAT, DAN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
DEAL, PIPELINE, STAGE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def person(member: uuid.UUID = ANN, org: uuid.UUID = ORG, role: Role = Role.REP) -> Caller:
    return Caller(member_id=member, org_id=org, roles=frozenset({role}))


def wrap(event: Event, aggregate: uuid.UUID, version: int = 1, org: uuid.UUID = ORG) -> Envelope:
    return Envelope.wrap(event, org_id=org, aggregate_id=aggregate, aggregate_version=version,
                         occurred_at=NOW)


def scheduled(due_at: datetime, *, activity: uuid.UUID | None = None, kind: str = "meeting",
              owner: uuid.UUID = ANN, version: int = 1,
              cls: type[pl.ActivitySnapshot] = pl.ActivityScheduled,
              **extra: object) -> Envelope:
    activity = activity or uuid.uuid4()
    event = cls(activity_id=activity, opportunity_id=DEAL, owner_id=owner, kind=kind,
                subject="Demo", due_at=due_at, status="open", **extra)  # type: ignore[arg-type]
    return wrap(event, activity, version)


def stage_changed(entered_at: datetime, version: int = 2) -> Envelope:
    return wrap(pl.OpportunityStageChanged(
        opportunity_id=DEAL, name="Big deal", owner_id=ANN, pipeline_id=PIPELINE,
        stage_id=STAGE, stage_name="Offer", status="open", amount=1000, currency="PLN",
        probability=50, from_stage_id=uuid.uuid4(), to_stage_id=STAGE, to_stage_name="Offer",
        entered_at=entered_at, seconds_in_previous_stage=60,
    ), DEAL, version)


async def remind(uow: Uow, now: datetime) -> reminders.RemindersDone:
    return await reminders.remind(At(now), uow)


def kinds(repo: FakeNotificationsRepository) -> list[d.NotificationKind]:
    return sorted(n.kind for n in repo.notification_rows.values())


# --- reminders ----------------------------------------------------------------------------


async def test_a_meeting_within_the_lead_time_is_reminded_once() -> None:
    uow = fake_uow()
    await apply_event(scheduled(NOW + timedelta(minutes=40)), At(NOW), uow)
    assert not await remind(uow, NOW)  # 40 minutes away: the default lead time is 15
    done = await remind(uow, NOW + timedelta(minutes=26))
    assert done.due == 1
    again = await remind(uow, NOW + timedelta(minutes=30))
    assert again.due == 0
    assert kinds(uow._repo) == [d.NotificationKind.ACTIVITY_DUE]


async def test_a_longer_lead_time_reminds_earlier_and_a_task_is_never_reminded() -> None:
    uow = fake_uow()
    await preferences.update_preferences(preferences.UpdatePreferences(
        person(), d.PreferencesChange(lead_minutes=60)), uow)
    await apply_event(scheduled(NOW + timedelta(minutes=50)), At(NOW), uow)
    await apply_event(scheduled(NOW + timedelta(minutes=5), kind="task"), At(NOW), uow)
    assert (await remind(uow, NOW)).due == 1
    assert kinds(uow._repo) == [d.NotificationKind.ACTIVITY_DUE]


async def test_a_rescheduled_meeting_is_reminded_again_for_its_new_time() -> None:
    uow = fake_uow()
    activity = uuid.uuid4()
    await apply_event(scheduled(NOW + timedelta(minutes=10), activity=activity), At(NOW), uow)
    assert (await remind(uow, NOW)).due == 1
    later = NOW + timedelta(hours=2)
    await apply_event(scheduled(later, activity=activity, version=2), At(NOW), uow)
    assert (await remind(uow, later - timedelta(minutes=5))).due == 1
    assert len(uow._repo.notification_rows) == 2


async def test_a_deal_moved_without_a_next_contact_is_noticed_after_the_grace() -> None:
    uow = fake_uow()
    await apply_event(stage_changed(NOW), At(NOW), uow)
    assert not await remind(uow, NOW + timedelta(minutes=10))
    done = await remind(uow, NOW + d.NEXT_CONTACT_GRACE)
    assert done.no_next_contact == 1
    assert kinds(uow._repo) == [d.NotificationKind.NO_NEXT_CONTACT]
    assert not await remind(uow, NOW + timedelta(hours=2))  # that move was checked


async def test_a_deal_moved_with_an_open_activity_is_not_noticed() -> None:
    uow = fake_uow()
    await apply_event(stage_changed(NOW), At(NOW), uow)
    await apply_event(scheduled(NOW + timedelta(days=3)), At(NOW), uow)
    done = await remind(uow, NOW + timedelta(hours=1))
    assert done.no_next_contact == 1  # checked...
    assert kinds(uow._repo) == []  # ...and nothing to tell


# --- projections --------------------------------------------------------------------------


async def test_an_overdue_activity_tells_its_owner_once() -> None:
    uow = fake_uow()
    activity = uuid.uuid4()
    overdue = scheduled(NOW - timedelta(minutes=1), activity=activity, version=2,
                        cls=pl.ActivityOverdue, detected_at=NOW)
    assert await apply_event(overdue, At(NOW), uow)
    assert await apply_event(overdue, At(NOW + timedelta(minutes=1)), uow)  # redelivered
    [notice] = uow._repo.notification_rows.values()
    assert (notice.kind, notice.member_id) == (d.NotificationKind.ACTIVITY_OVERDUE, ANN)


async def test_an_older_overdue_event_than_the_row_kept_tells_no_one() -> None:
    uow = fake_uow()
    activity = uuid.uuid4()
    await apply_event(scheduled(NOW, activity=activity, version=5), At(NOW), uow)
    await apply_event(scheduled(NOW - timedelta(minutes=1), activity=activity, version=2,
                                cls=pl.ActivityOverdue, detected_at=NOW), At(NOW), uow)
    assert kinds(uow._repo) == []


def assigned(by: uuid.UUID, lead: uuid.UUID, version: int = 2) -> Envelope:
    return wrap(ld.LeadAssigned(lead_id=lead, owner_id=ANN, assigned_by=by, via="assignment"),
                lead, version)


async def test_a_lead_assigned_by_someone_else_tells_its_new_owner_but_a_claim_does_not() -> None:
    uow = fake_uow()
    await apply_event(assigned(BOB, uuid.uuid4()), At(NOW), uow)
    await apply_event(assigned(ANN, uuid.uuid4()), At(NOW), uow)
    [notice] = uow._repo.notification_rows.values()
    assert (notice.kind, notice.member_id) == (d.NotificationKind.LEAD_ASSIGNED, ANN)


@pytest.mark.parametrize(("cls", "kind"), [
    (doc.OfferAccepted, d.NotificationKind.OFFER_ACCEPTED),
    (doc.OfferRejected, d.NotificationKind.OFFER_REJECTED),
])
async def test_an_offer_decided_tells_the_deals_owner(
    cls: type[doc.OfferDecision], kind: d.NotificationKind
) -> None:
    uow = fake_uow()
    await apply_event(stage_changed(NOW), At(NOW), uow)
    offer = uuid.uuid4()
    by = {"accepted_by" if cls is doc.OfferAccepted else "rejected_by": BOB}
    await apply_event(wrap(cls(offer_id=offer, opportunity_id=DEAL, number="O/1", title="Q1",
                               revision=1, decided_at=NOW, **by), offer), At(NOW), uow)
    [notice] = uow._repo.notification_rows.values()
    assert (notice.kind, notice.member_id, notice.title, notice.detail) == (
        kind, ANN, "O/1 Q1", "Big deal"
    )


# --- preferences and inbox ----------------------------------------------------------------


async def test_bad_settings_are_all_named_and_change_nothing() -> None:
    uow = fake_uow()
    with pytest.raises(InvalidInput) as refused:
        await preferences.update_preferences(preferences.UpdatePreferences(person(), (
            d.PreferencesChange(email="nope", time_zone="Mars/Base", digest_hour=24,
                                lead_minutes=-1)
        )), uow)
    assert {".".join(p.path) for p in refused.value.problems} == {
        "email", "timeZone", "digestHour", "leadMinutes"
    }
    assert uow._repo.prefs_rows == {}
    assert uow.commits == 0
    assert (await preferences.my_preferences(person(), uow)) == d.MemberPreferences(ORG, ANN)


async def test_an_email_address_queues_the_notices_email() -> None:
    uow = fake_uow()
    await preferences.update_preferences(preferences.UpdatePreferences(
        person(), d.PreferencesChange(email="ann@example.com")), uow)
    await apply_event(assigned(BOB, uuid.uuid4()), At(NOW), uow)
    [email] = uow._repo.email_rows.values()
    assert email.to_address == "ann@example.com"


async def test_mark_read_marks_only_the_callers_own() -> None:
    uow = fake_uow()
    for _ in range(3):
        await apply_event(assigned(BOB, uuid.uuid4()), At(NOW), uow)
    page = await inbox.list_notifications(inbox.ListNotifications(person(), first=2), uow)
    assert len(page.items) == 2 and page.has_next_page
    rest = await inbox.list_notifications(
        inbox.ListNotifications(person(), first=2, after=page.cursors[-1]), uow)
    assert len(rest.items) == 1 and not rest.has_next_page
    first = page.items[0].id
    assert await inbox.mark_read(inbox.MarkRead(person(BOB), (first,), NOW), uow) == (0, 0)
    assert await inbox.mark_read(inbox.MarkRead(person(), (first,), NOW), uow) == (1, 2)
    assert await inbox.mark_read(inbox.MarkRead(person(), None, NOW), uow) == (2, 0)
    assert await inbox.unread_count(person(), uow) == 0


async def test_another_org_never_sees_this_orgs_notifications() -> None:
    uow = fake_uow()
    await apply_event(assigned(BOB, uuid.uuid4()), At(NOW), uow)
    stranger = person(ANN, OTHER_ORG)  # the same member id in another org
    page = await inbox.list_notifications(inbox.ListNotifications(stranger), uow)
    assert list(page.items) == []
    assert await inbox.unread_count(stranger, uow) == 0
    assert await inbox.mark_read(inbox.MarkRead(stranger, None, NOW), uow) == (0, 0)
    assert await inbox.unread_count(person(), uow) == 1


# --- calendar feed ------------------------------------------------------------------------


async def test_the_feed_token_is_made_once_and_rotation_shuts_the_old_address() -> None:
    uow = fake_uow()
    await apply_event(scheduled(NOW + timedelta(days=1)), At(NOW), uow)
    token = await feed.feed_token(person(), NOW, uow)
    assert await feed.feed_token(person(), NOW, uow) == token
    opened = await feed.open_feed(token, NOW, uow)
    assert opened is not None and len(opened.entries) == 1
    rotated = await feed.rotate_feed(person(), NOW, uow)
    assert rotated != token
    assert await feed.open_feed(token, NOW, uow) is None
    assert await feed.open_feed(rotated, NOW, uow) is not None
    assert await feed.open_feed("short", NOW, uow) is None


# --- webhooks -----------------------------------------------------------------------------


class Sender:
    """Refuses what the test names; delivers nothing."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse

    async def check_target(self, url: str) -> str | None:
        return self.refuse

    async def deliver(self, endpoint: d.WebhookEndpoint, delivery: d.WebhookDelivery,
                      now: datetime) -> AttemptResult:
        return AttemptResult(200, None, 1)


def register(url: str = "https://hooks.example.com/crm", types: list[str] | None = None,
             caller: Caller | None = None) -> webhooks.RegisterEndpoint:
    return webhooks.RegisterEndpoint(caller or person(role=Role.ADMIN), url,
                                     types if types is not None else ["crm.pipeline.>"],
                                     "", NOW)


async def test_an_admin_registers_an_endpoint_that_gets_its_orgs_events_only() -> None:
    uow = fake_uow()
    endpoint = await webhooks.register_endpoint(register(), Sender(), uow)
    assert endpoint.secret.startswith("whsec_")
    await apply_event(scheduled(NOW), At(NOW), uow)
    other = scheduled(NOW)
    await apply_event(other.model_copy(update={"org_id": OTHER_ORG}), At(NOW), uow)
    [delivery] = uow._repo.delivery_rows.values()
    assert (delivery.org_id, delivery.endpoint_id) == (ORG, endpoint.id)


async def test_an_erased_lead_leaves_nothing_of_it_and_a_late_event_of_it_goes_nowhere(
) -> None:
    uow = fake_uow()
    endpoint = await webhooks.register_endpoint(register(types=["crm.leads.>"]), Sender(), uow)
    lead, other = uuid.uuid4(), uuid.uuid4()
    created = wrap(ld.LeadCreated(lead_id=lead, company="Hurtownia Żółw",
                                  email="biuro@zolw.pl"), lead, 1)
    for envelope in (created, assigned(BOB, lead), assigned(BOB, other)):
        await apply_event(envelope, At(NOW), uow)
    repo = uow._repo
    assert {n.subject_id for n in repo.notification_rows.values()} == {lead, other}
    assert len(repo.delivery_rows) == 3

    erasure = wrap(ld.LeadErased(lead_id=lead, previous_owner_id=ANN,
                                 previous_status="ASSIGNED", erased_by=CAT), lead, 3)
    assert await apply_event(erasure, At(NOW), uow)
    assert repo.lead_rows[(ORG, lead)] == d.Lead(
        id=lead, org_id=ORG, owner_id=None, status=d.ERASED_LEAD, company="", version=3)
    assert [n.subject_id for n in repo.notification_rows.values()] == [other]
    # The erasure itself goes to the endpoint, carrying nothing of the lead.
    sent = {x.aggregate_id: x for x in repo.delivery_rows.values()}
    assert sent.keys() == {lead, other} and sent[lead].event_type == ld.LeadErased.TYPE
    assert "Żółw" not in sent[lead].payload and endpoint.id == sent[lead].endpoint_id

    # An older event of it, redelivered late: no copy, no notice, no delivery.
    await apply_event(created, At(NOW), uow)
    await apply_event(assigned(DAN, lead), At(NOW), uow)
    assert repo.lead_rows[(ORG, lead)].status == d.ERASED_LEAD
    assert [n.subject_id for n in repo.notification_rows.values()] == [other]
    assert len(repo.delivery_rows) == 2


@pytest.mark.parametrize(("cmd", "sender", "fields"), [
    (register(url="ftp://x.example.com"), Sender(), {"url"}),
    (register(url="https://x.example.com/" + "a" * 2000), Sender(), {"url"}),
    (register(types=[]), Sender(), {"eventTypes"}),
    (register(types=["pipeline.*"]), Sender(), {"eventTypes.0"}),
    (register(), Sender(refuse="resolves to a private address"), {"url"}),
])
async def test_a_bad_endpoint_is_refused_and_nothing_is_stored(
    cmd: webhooks.RegisterEndpoint, sender: Sender, fields: set[str]
) -> None:
    uow = fake_uow()
    with pytest.raises(InvalidInput) as refused:
        await webhooks.register_endpoint(cmd, sender, uow)
    assert {".".join(p.path) for p in refused.value.problems} == fields
    assert uow._repo.endpoint_rows == {}


async def test_only_an_admin_registers_an_endpoint() -> None:
    uow = fake_uow()
    with pytest.raises(ForbiddenError):
        await webhooks.register_endpoint(register(caller=person()), Sender(), uow)
    assert uow._repo.endpoint_rows == {}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000/hook", "http://10.0.0.5/hook", "http://[::1]/hook",
    "http://169.254.169.254/latest", "http://192.168.1.10/hook",
])
async def test_in_prod_a_private_target_is_refused(url: str) -> None:
    prod = HttpWebhookSender(NotificationsSettings(environment="prod"))
    dev = HttpWebhookSender(NotificationsSettings(environment="dev"))
    uow = fake_uow()
    with pytest.raises(InvalidInput) as refused:
        await webhooks.register_endpoint(register(url=url), prod, uow)
    assert [".".join(p.path) for p in refused.value.problems] == ["url"]
    assert uow._repo.endpoint_rows == {}
    assert await dev.check_target(url) is None


class FailingSender(Sender):
    """Every attempt answers 500."""

    async def deliver(self, endpoint: d.WebhookEndpoint, delivery: d.WebhookDelivery,
                      now: datetime) -> AttemptResult:
        return AttemptResult(500, "answered 500", 1)


async def test_deliveries_of_one_aggregate_go_in_order() -> None:
    uow = fake_uow()
    await webhooks.register_endpoint(register(), Sender(), uow)
    activity = uuid.uuid4()
    for version in (1, 2):
        await apply_event(scheduled(NOW, activity=activity, version=version), At(NOW), uow)
    done = await webhooks.send_webhooks(At(NOW), Sender(), uow)
    assert done.delivered == 1  # the second waits for the first
    assert (await webhooks.send_webhooks(At(NOW), Sender(), uow)).delivered == 1
    assert {x.status for x in uow._repo.delivery_rows.values()} == {"delivered"}


async def test_after_the_last_retry_the_endpoint_is_disabled_and_the_admins_told() -> None:
    uow = fake_uow()
    admin = person(BOB, role=Role.ADMIN)
    await apply_event(wrap(ld.MemberUpdated(member_id=BOB, name="Bob", roles=["admin"],
                                           lead_cap=10), BOB),
                      At(NOW), uow)
    endpoint = await webhooks.register_endpoint(register(caller=admin), Sender(), uow)
    await apply_event(scheduled(NOW), At(NOW), uow)
    now = NOW
    for _ in d.WEBHOOK_RETRIES:
        assert (await webhooks.send_webhooks(At(now), FailingSender(), uow)).retried == 1
        [delivery] = uow._repo.delivery_rows.values()
        assert delivery.next_attempt_at is not None
        now = delivery.next_attempt_at
    assert (await webhooks.send_webhooks(At(now), FailingSender(), uow)).failed == 1
    [delivery] = uow._repo.delivery_rows.values()
    assert (delivery.status, delivery.attempts, len(delivery.history)) == (
        "failed", len(d.WEBHOOK_RETRIES) + 1, len(d.WEBHOOK_RETRIES) + 1
    )
    assert not uow._repo.endpoint_rows[endpoint.id].enabled
    assert [e.type for e in uow.committed] == ["crm.notifications.webhook_endpoint.disabled"]
    assert kinds(uow._repo) == [d.NotificationKind.WEBHOOK_DISABLED]


class Mailer:
    """Fails each email as the test says (by recipient), else takes it."""

    def __init__(self, failures: dict[str, Exception]) -> None:
        self.failures = failures
        self.sent: list[str] = []

    async def send(self, email_id: uuid.UUID, to: str, subject: str, body: str) -> None:
        if to in self.failures:
            raise self.failures[to]
        self.sent.append(to)


async def test_emails_are_sent_once_retried_on_a_temporary_failure_failed_on_a_permanent() -> None:
    uow = fake_uow()
    addresses = {ANN: "ann@example.com", BOB: "bob@example.com", CAT: "cat@example.com"}
    for member, address in addresses.items():
        await preferences.update_preferences(preferences.UpdatePreferences(
            person(member), d.PreferencesChange(email=address)), uow)
        lead = uuid.uuid4()
        await apply_event(wrap(ld.LeadAssigned(lead_id=lead, owner_id=member, assigned_by=DAN,
                                               via="assignment"), lead, 2), At(NOW), uow)
    mailer = Mailer({"bob@example.com": TemporaryFailure("busy"),
                     "cat@example.com": PermanentFailure("no such mailbox")})
    done = await email.send_emails(At(NOW), mailer, uow)
    assert (done.sent, done.retried, done.failed) == (1, 1, 1)
    assert mailer.sent == ["ann@example.com"]
    status = {e.to_address: (e.status, e.attempts) for e in uow._repo.email_rows.values()}
    assert status == {"ann@example.com": ("sent", 1), "bob@example.com": ("pending", 1),
                      "cat@example.com": ("failed", 1)}
    assert not await email.send_emails(At(NOW), mailer, uow)  # Bob's waits for its retry


async def test_webhooks_are_admin_only_per_org_and_a_pending_delivery_is_not_replayed() -> None:
    uow = fake_uow()
    endpoint = await webhooks.register_endpoint(register(), Sender(), uow)
    await apply_event(scheduled(NOW), At(NOW), uow)
    [delivery] = uow._repo.delivery_rows.values()
    stranger = person(BOB, OTHER_ORG, Role.ADMIN)
    assert await webhooks.list_endpoints(stranger, uow) == []
    with pytest.raises(NotFoundError):
        await webhooks.enable_endpoint(stranger, endpoint.id, uow)
    with pytest.raises(NotFoundError):
        await webhooks.replay_delivery(stranger, delivery.id, NOW, uow)
    with pytest.raises(ForbiddenError):
        await webhooks.list_endpoints(person(), uow)
    with pytest.raises(InvalidInput):
        await webhooks.replay_delivery(person(role=Role.ADMIN), delivery.id, NOW, uow)
    await webhooks.send_webhooks(At(NOW), Sender(), uow)
    replayed = await webhooks.replay_delivery(person(role=Role.ADMIN), delivery.id, NOW, uow)
    assert (replayed.status, replayed.attempts) == ("pending", 0)


async def test_an_admin_pages_an_endpoints_deliveries_newest_first_and_no_one_else() -> None:
    uow = fake_uow()
    endpoint = await webhooks.register_endpoint(register(), Sender(), uow)
    for minute in range(3):
        await apply_event(scheduled(NOW), At(NOW + timedelta(minutes=minute)), uow)
    admin = person(role=Role.ADMIN)
    page = await webhooks.list_deliveries(webhooks.ListDeliveries(admin, endpoint.id, 2), uow)
    assert [x.created_at for x in page.items] == [NOW + timedelta(minutes=m) for m in (2, 1)]
    assert page.has_next_page
    rest = await webhooks.list_deliveries(
        webhooks.ListDeliveries(admin, endpoint.id, 2, page.cursors[-1]), uow)
    assert [x.created_at for x in rest.items] == [NOW] and not rest.has_next_page
    with pytest.raises(ForbiddenError):
        await webhooks.list_deliveries(webhooks.ListDeliveries(person(), endpoint.id), uow)
    with pytest.raises(NotFoundError):
        await webhooks.list_deliveries(
            webhooks.ListDeliveries(person(BOB, OTHER_ORG, Role.ADMIN), endpoint.id), uow)


async def test_the_digest_is_queued_at_the_members_hour_once_a_day_and_never_empty() -> None:
    uow = fake_uow()
    for member, address in ((ANN, "ann@example.com"), (BOB, "bob@example.com")):
        await preferences.update_preferences(preferences.UpdatePreferences(
            person(member), d.PreferencesChange(email=address, time_zone="Europe/Warsaw",
                                                digest_hour=10)), uow)
    await apply_event(scheduled(NOW + timedelta(hours=4)), At(NOW), uow)  # Ann's, not Bob's

    def digests() -> list[tuple[str, str]]:
        return sorted((e.to_address, e.subject) for e in uow._repo.email_rows.values()
                      if e.kind == d.DIGEST)

    assert await email.queue_digests(At(NOW), uow) == 0  # 09:00 in Warsaw
    at_ten = NOW + timedelta(hours=1)
    assert await email.queue_digests(At(at_ten), uow) == 1
    [(to, subject)] = digests()
    assert to == "ann@example.com" and subject
    assert await email.queue_digests(At(at_ten + timedelta(minutes=30)), uow) == 0
    assert len(digests()) == 1
