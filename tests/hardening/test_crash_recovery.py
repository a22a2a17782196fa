"""Issue 10, crash mid-run: a real `manage.py qcluster` (ORM broker, two workers) is
killed with SIGKILL — the cluster and every worker it forked, as a power cut or the
OOM killer would — half-way through a billing run and half-way through a burst of
notifications, then started again. The restarted cluster finishes the work: what the
killed one had claimed comes back after Q_CLUSTER['retry'] seconds (the ORM broker's
redelivery) and the notifications sweep sends what is still due.

What must hold afterwards (docs/hardening.md, "Crash recovery"):

- every due subscription is invoiced exactly once, and the invoice numbers run without
  a gap (a chunk is one transaction: a killed one leaves nothing; the unique constraint
  and the chunk's re-read under its lock stop a second invoice);
- every e-mail and every callback is delivered; one a worker was sending when it was
  killed may arrive twice (the send happened, the row saying so was not committed),
  a callback then with the same webhook-id so the receiver can drop it; nothing else
  is ever sent twice.

The cluster runs in its own process group (`start_new_session`), with small
KONTOR_Q_TIMEOUT / KONTOR_Q_RETRY so the redelivery comes within seconds; see
tests/hardening/crash_cluster.py for what it does besides `qcluster`.
"""

from __future__ import annotations

import contextlib
import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from billing.models import BillingRun, Invoice, NumberSeries
from billing.services.runs import Trigger, billing_run_chunk, billing_run_start
from notifications.events import EventType, MailType
from notifications.models import (
    CallbackAttempt,
    CallbackDelivery,
    Event,
    MailMessage,
    MailTemplate,
)
from notifications.services import emit, mail
from notifications.services.callbacks import callback_endpoint_create
from subscriptions.models import Customer, Subscription
from tests.notifications.receiver import Receiver
from tests.subscriptions.factories import SubscriptionFactory

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
# The killed cluster's claimed tasks come back after RETRY seconds; TIMEOUT < RETRY is
# what kontor.E001 demands (a chunk of CHUNK subscriptions takes about a second).
TIMEOUT, RETRY = 10, 12
CHUNK = 100
SUBSCRIPTIONS = 2000
MAILS = SUBSCRIPTIONS // 4
EVENTS = 500


class Cluster:
    """A real `manage.py qcluster` in a process group of its own, on the test database."""

    def __init__(self, *, mail_dir: Path, log: Path) -> None:
        self.mail_dir, self.log = mail_dir, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        db = settings.DATABASES["default"]  # NAME is the test database's here
        login = quote(db["USER"], safe="") + (
            f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
        )
        url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        env = {
            **os.environ,
            # The production settings (persistent connections, as a real cluster has);
            # the secret key is the test settings' (os.environ).
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": url,
            "KONTOR_CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
            "KONTOR_CACHE_DIR": str(self.log.parent / "cache"),
            "DJANGO_MEDIA_ROOT": str(self.log.parent / "media"),
            "KONTOR_Q_WORKERS": str(WORKERS),
            "KONTOR_Q_TIMEOUT": str(TIMEOUT),
            "KONTOR_Q_RETRY": str(RETRY),
            "KONTOR_CRASH_MAIL_DIR": str(self.mail_dir),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.hardening.crash_cluster"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL to the whole group: the cluster, its sentinel, monitor, pusher and
        workers die at once, in the middle of whatever they do."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        _wait_for_group_gone(self.process.pid)
        self.process = None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"qcluster exited early:\n{self.log.read_text()[-3000:]}")


def _wait_for_group_gone(pgid: int, timeout: float = 10.0) -> None:
    """Until no live process is left in the group (zombies waiting for a parent that
    does not reap them are dead: they hold no connection and run no code)."""
    deadline = time.monotonic() + timeout
    while _live_members(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(f"processes {_live_members(pgid)} survived SIGKILL")
        time.sleep(0.05)


def _live_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process is gone
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in {"Z", "X"}:
            members.append(int(stat.parent.name))
    return members


def wait_until(
    condition: Callable[[], bool], *, timeout: float, what: str, cluster: Cluster,
    tick: Callable[[], None] | None = None,
) -> None:  # fmt: skip
    """Poll `condition`; fail clearly (with the cluster's log) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        cluster.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what}: not within {timeout:g} s\n{cluster.log.read_text()[-3000:]}"
            )
        if tick is not None:
            tick()
        time.sleep(0.25)


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """Tasks go to the ORM broker (the suite runs them inline otherwise); the cluster is
    killed whatever happens in the test."""
    monkeypatch.setattr(Conf, "SYNC", False)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    running = Cluster(mail_dir=mail_dir, log=tmp_path / "qcluster.log")
    try:
        yield running
    finally:
        running.kill()


def mails_by_recipient(mail_dir: Path) -> Counter:
    """How many e-mails each address got, read from the file backend's files."""
    counts: Counter = Counter()
    for path in mail_dir.iterdir():
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if raw.strip():
                counts[email.message_from_bytes(raw)["To"]] += 1
    return counts


def _mails_in_flight(mail_dir: Path) -> set[str]:
    """Right after the kill: addresses a worker had sent to, whose message the database
    does not record as sent (the worker died between the send and the commit)."""
    sent = set(
        MailMessage.objects.filter(status=MailMessage.Status.SENT).values_list(
            "to_email", flat=True
        )
    )
    return set(mails_by_recipient(mail_dir)) - sent


def _activate_template(mail_type: str) -> None:
    """The default templates come from a data migration a transactional test's flush
    removes: put them back (the migration's own function), then opt in to this one."""
    from importlib import import_module

    from django.apps import apps

    import_module("notifications.migrations.0002_default_mail_templates").create_defaults(
        apps, None
    )
    MailTemplate.objects.filter(type=mail_type, language="en").update(active=True)


def _due_subscriptions(count: int) -> list[int]:
    """`count` monthly subscriptions that started an hour ago, each of its own customer;
    the first period of each is due (invoiced in advance). One customer in four has an
    e-mail address (MAILS in all): the others' invoices are in the portal only — the
    broker moves about 30 tasks a second on this machine, and a send is a task. One
    subscription is built by the factory, the others copied from it in SQL."""
    template = SubscriptionFactory(started_at=timezone.now() - timedelta(hours=1))
    customer_ids = _copy_rows(
        Customer, template.customer_id, count - 1,
        {"public_id": "gen_random_uuid()", "name": "'Crash customer ' || n",
         "email": "CASE WHEN n %% 4 = 0 THEN 'crash' || n || '@example.com' ELSE '' END"},
    )  # fmt: skip
    _copy_rows(
        Subscription, template.pk, count - 1,
        {"public_id": "gen_random_uuid()", "customer_id": "(%(ids)s::bigint[])[n]"},
        params={"ids": customer_ids},
    )  # fmt: skip
    return list(Subscription.objects.order_by("pk").values_list("pk", flat=True))


def _copy_rows(model, pk: int, count: int, changes: dict[str, str], params=None) -> list[int]:
    """Insert `count` copies of row `pk` (n = 1..count), with `changes` as SQL in n."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = [changes.get(column, column) for column in columns]
    table = model._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "  # noqa: S608
        f"FROM {table}, generate_series(1, %(count)s) AS n WHERE id = %(pk)s "
        f"ORDER BY n RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"count": count, "pk": pk, **(params or {})})
        return [row[0] for row in cursor.fetchall()]


def _sweep_every(seconds: float) -> Callable[[], None]:
    """What the minutely schedule does, sooner: queue the notifications sweep for the
    cluster (the scheduler itself looks only every 30 s)."""
    last = [0.0]

    def tick() -> None:
        if time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            async_task("notifications.tasks.sweep")

    return tick


@pytest.mark.django_db(transaction=True)
def test_a_billing_run_killed_half_way_invoices_each_subscription_once_without_gaps(
    cluster,
):
    subscription_ids = _due_subscriptions(SUBSCRIPTIONS)
    _activate_template(MailType.INVOICE_ISSUED)
    cluster.start()
    run = billing_run_start(
        run_date=timezone.localdate(), trigger=Trigger.SCHEDULE, chunk_size=CHUNK
    )
    assert run.subscriptions_due == SUBSCRIPTIONS

    wait_until(
        lambda: Invoice.objects.count() >= SUBSCRIPTIONS // 2,
        timeout=60, what="half of the invoices", cluster=cluster,
    )  # fmt: skip
    cluster.kill()
    in_flight = _mails_in_flight(cluster.mail_dir)
    at_kill = Invoice.objects.count()
    assert at_kill < SUBSCRIPTIONS, "the run finished before the kill: nothing was tested"
    assert len(set(Invoice.objects.values_list("number", flat=True))) == at_kill
    # The chunks the kill interrupted rolled back, numbers and all.
    series = NumberSeries.objects.get(key=f"invoice-{timezone.localdate().year}")
    assert series.last_number == at_kill

    cluster.start()
    wait_until(
        lambda: Invoice.objects.count() >= SUBSCRIPTIONS,
        timeout=60, what="the rest of the invoices", cluster=cluster,
    )  # fmt: skip
    wait_until(
        lambda: MailMessage.objects.filter(status=MailMessage.Status.SENT).count() >= MAILS,
        timeout=60, what="every invoice e-mail", cluster=cluster, tick=_sweep_every(5),
    )  # fmt: skip
    cluster.kill()

    invoices = list(Invoice.objects.values_list("subscription_id", "number"))
    assert sorted(sub for sub, _number in invoices) == subscription_ids  # each once
    year = timezone.localdate().year
    assert sorted(number for _sub, number in invoices) == [
        f"{year}-{n:06d}" for n in range(1, SUBSCRIPTIONS + 1)
    ]
    assert NumberSeries.objects.get(key=f"invoice-{year}").last_number == SUBSCRIPTIONS
    run.refresh_from_db()
    assert (run.status, run.invoices_created, run.errors) == ("done", SUBSCRIPTIONS, [])
    assert run.chunks_done == run.chunks_total == SUBSCRIPTIONS // CHUNK
    assert BillingRun.objects.count() == 1
    messages = MailMessage.objects.all()
    assert messages.count() == MAILS
    assert set(messages.values_list("status", flat=True)) == {MailMessage.Status.SENT}
    assert_each_sent_once_but_those_in_flight(
        received=mails_by_recipient(cluster.mail_dir),
        expected=set(messages.values_list("to_email", flat=True)),
        in_flight=in_flight,
    )


def assert_each_sent_once_but_those_in_flight(
    *, received: Counter, expected: set[str], in_flight: set[str]
) -> None:
    """Everything arrived; only what a killed worker was sending (sent, not yet
    recorded as sent) may have arrived twice — at most one per worker."""
    assert set(received) == expected
    twice = {key for key, count in received.items() if count > 1}
    assert twice <= in_flight, f"sent twice though not in flight at the kill: {twice - in_flight}"
    assert len(in_flight) <= WORKERS
    assert max(received.values()) <= 2


@pytest.mark.django_db(transaction=True)
def test_a_callback_burst_killed_half_way_delivers_every_event_with_its_webhook_id(cluster):
    with Receiver() as receiver:
        callback_endpoint_create(
            name="Crash receiver", url=receiver.url,
            event_types=[EventType.USER_SUBSCRIPTION_CREATED],
        )  # fmt: skip
        cluster.start()
        with transaction.atomic():  # one commit queues the EVENTS dispatch tasks
            events = [
                emit(type=EventType.USER_SUBSCRIPTION_CREATED, payload={"n": n})
                for n in range(EVENTS)
            ]
        wait_until(
            lambda: len(receiver.requests) >= EVENTS // 2,
            timeout=60, what="half of the callbacks", cluster=cluster,
        )  # fmt: skip
        cluster.kill()
        time.sleep(0.5)  # requests the receiver was still reading when the senders died
        before = Counter(r.headers["webhook-id"] for r in list(receiver.requests))
        done = set(
            CallbackDelivery.objects.filter(status=CallbackDelivery.Status.SUCCEEDED)
            .values_list("event__event_id", flat=True)
        )  # fmt: skip
        in_flight = set(before) - {str(event_id) for event_id in done}
        assert sum(before.values()) < EVENTS, "the burst ended before the kill"

        cluster.start()
        wait_until(
            lambda: CallbackDelivery.objects.filter(
                status=CallbackDelivery.Status.SUCCEEDED
            ).count() >= EVENTS,
            timeout=60, what="every callback", cluster=cluster, tick=_sweep_every(3),
        )  # fmt: skip
        cluster.kill()
        requests = list(receiver.requests)

    deliveries = CallbackDelivery.objects.all()
    assert deliveries.count() == EVENTS
    assert set(deliveries.values_list("attempts", flat=True)) == {1}
    assert CallbackAttempt.objects.filter(succeeded=True).count() == EVENTS
    assert CallbackAttempt.objects.count() == EVENTS
    received = Counter(r.headers["webhook-id"] for r in requests)
    assert_each_sent_once_but_those_in_flight(
        received=received,
        expected={str(event.event_id) for event in events},
        in_flight=in_flight,
    )
    # A second copy is the same message: same id, same body, for the receiver to drop.
    bodies = {}
    for r in requests:
        assert bodies.setdefault(r.headers["webhook-id"], r.body) == r.body


# --- the two fixes the crash tests led to, each pinned without a cluster -------------


@pytest.mark.django_db
def test_a_chunk_task_delivered_again_is_counted_into_its_run_once():
    """The broker hands a chunk's task out again when the cluster died after the chunk
    committed but before the task was acknowledged: the second run of the chunk finds
    nothing due and must not count as the run's other chunk (that would finish the run
    while that chunk is still to come)."""
    started = timezone.now() - timedelta(hours=1)
    ids = sorted(SubscriptionFactory(started_at=started).pk for _ in range(3))
    run = billing_run_start(
        run_date=timezone.localdate(), trigger=Trigger.COMMAND, chunk_size=2
    )  # fmt: skip  (the chunk tasks wait for a commit)
    assert (run.status, run.chunks_total, run.chunks_done) == ("running", 2, 0)

    assert billing_run_chunk(run_id=run.pk, subscription_ids=ids[:2]) == 2
    assert billing_run_chunk(run_id=run.pk, subscription_ids=ids[:2]) == 0  # redelivered
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.invoices_created) == ("running", 1, 2)

    assert billing_run_chunk(run_id=run.pk, subscription_ids=ids[2:]) == 1
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.invoices_created) == ("done", 2, 3)
    assert run.chunks_recorded == [ids[0], ids[2]]


@pytest.mark.django_db
def test_the_mail_sweep_starts_no_send_after_half_the_task_timeout(monkeypatch, settings):
    """A sweep the task timeout kills mid-send sends that e-mail again: it stops starting
    sends after min(120 s, timeout / 2) and leaves the rest to the next sweep."""
    event = Event.objects.create(type=EventType.USER_SUBSCRIPTION_CREATED, payload={})
    for position in range(5):
        MailMessage.objects.create(
            event=event, position=position, template_type=MailType.USER_ADDED,
            language="en", to_email=f"sweep{position}@example.com",
        )  # fmt: skip
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 6}  # a budget of 3 s
    clock = iter(range(100))  # each look at the clock: one second later
    monkeypatch.setattr(mail.time, "monotonic", lambda: next(clock))

    assert mail.mail_messages_send_due(now=timezone.now()) == 3
    assert MailMessage.objects.filter(status=MailMessage.Status.QUEUED).count() == 2
