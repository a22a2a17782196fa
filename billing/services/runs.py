"""Billing runs (SPEC §4, issue 7 item 3): find what is due, invoice it in chunks.

`billing_run_start(run_date=…, trigger=…)` records a BillingRun, finds the subscriptions
with something due by the end of `run_date` on the merchant's clock (corporate periods
that have ended, regular periods that have started, one-time purchases, uninvoiced
penalties; see billing.services.run_drafts for what each invoice says) — except those of
accounts on billing hold (billing.services.holds: their data breaks an invariant) —
splits them into chunks of CHUNK_SIZE and hands each chunk to `billing_run_chunk` —
inline (the command, the benchmark) or as a Django-Q2 task (`billing.tasks.bill_chunk`)
so several workers share the work.

A chunk is **one transaction**: it locks its subscriptions with
`select_for_update(skip_locked=True)` (a subscription another run is invoicing right
now is left to that run), re-reads what is invoiced already under the lock, builds the
drafts in memory, counts users in one query, and writes and issues everything at once
(billing.services.run_issue). So two runs at once make one invoice per subscription
and period (the unique constraint `invoice_once_per_subscription_and_period` would
refuse a second anyway), numbers have no gaps (allocated under the series lock in the
same transaction), and a chunk that crashes leaves nothing: its subscriptions are still
due, so the next run — the daily schedule, or `manage.py run_billing` — invoices them.
The run's counters and errors are updated in the chunk's transaction too.

A subscription that cannot be invoiced (e.g. a contract without valid tiers) is
recorded in the run's errors with the reason; the chunk's other subscriptions are
invoiced. The number of queries grows with the number of chunks, not of subscriptions.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from billing.models import BillingRun, Invoice
from billing.services.holds import held_customer_ids
from billing.services.invoices import InvoiceDraft
from billing.services.run_drafts import (
    BillingRefused,
    ChunkData,
    Planned,
    due_periods,
    plan_corporate,
    usage_windows,
)
from billing.services.run_drafts import drafts_for as _drafts_for
from billing.services.run_issue import invoices_issue_bulk
from billing.usage import billable_users
from catalog.models import CorporateOffer, CorporateOfferContract, Offer
from seats.models import SeatAccount
from subscriptions.models import (
    Charge,
    CouponRedemption,
    Customer,
    PaymentMethod,
    Subscription,
    SubscriptionItem,
)

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500


class Trigger:
    SCHEDULE = "schedule"
    COMMAND = "command"
    STAFF = "staff"


def run_cutoff(run_date: date) -> datetime:
    """The end of `run_date` on the merchant's clock (exclusive)."""
    midnight = datetime.combine(run_date + timedelta(days=1), time())
    return timezone.make_aware(midnight, timezone.get_default_timezone())


# --- finding what is due -------------------------------------------------------------


def _last_invoiced(subscription_ids=None) -> dict[int, datetime]:
    rows = Invoice.objects.filter(
        kind=Invoice.Kind.INVOICE, subscription__isnull=False, period_start__isnull=False
    )
    if subscription_ids is not None:
        rows = rows.filter(subscription_id__in=subscription_ids)
    return dict(
        rows.values("subscription_id")
        .annotate(last=Max("period_start"))
        .values_list("subscription_id", "last")
    )


@dataclass(frozen=True)
class _Candidate:
    """The fields `due_periods` reads, without a model instance per subscription."""

    pk: int
    corporate_offer_id: int | None
    status: str
    started_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None
    billing_interval_count: int | None
    billing_interval_unit: str

    @property
    def is_corporate(self) -> bool:
        return self.corporate_offer_id is not None


def due_subscription_ids(*, cutoff: datetime, now: datetime) -> list[int]:
    """Ids (ascending) of subscriptions with a period due by `cutoff` or a penalty
    waiting for an invoice. Three queries and a loop in memory, whatever the count."""
    last = _last_invoiced()
    fields = [f.name for f in dataclass_fields(_Candidate)]
    # Accounts on billing hold (billing.services.holds) are skipped until released.
    rows = (
        Subscription.objects.filter(started_at__lt=cutoff)
        .exclude(customer_id__in=held_customer_ids())
        .values_list(*fields)
    )
    due = set()
    for row in rows.iterator(chunk_size=5000):
        candidate = _Candidate(*row)
        if due_periods(candidate, last.get(candidate.pk), cutoff, now):
            due.add(candidate.pk)
    due.update(
        Charge.objects.filter(invoiced_at__isnull=True, subscription__started_at__lt=cutoff)
        .exclude(subscription__customer_id__in=held_customer_ids())
        .values_list("subscription_id", flat=True)
    )  # fmt: skip
    return sorted(due)


# --- a run ---------------------------------------------------------------------------


def billing_run_start(
    *,
    run_date: date,
    trigger: str = Trigger.SCHEDULE,
    inline: bool = False,
    workers: int = 1,
    chunk_size: int = CHUNK_SIZE,
    now: datetime | None = None,
    chunk_runner: Callable[..., int] | None = None,
) -> BillingRun:
    """Record a run for `run_date` and invoice what is due by the end of that day:
    chunk by chunk in this process when `inline` (`workers` chunks at a time, each in a
    thread with its own connection, as that many Django-Q2 workers would), otherwise
    one Django-Q2 task per chunk (queued after commit). Returns the run (finished when
    inline or nothing was due). `chunk_runner` replaces `billing_run_chunk` inline (the
    benchmark counts each thread's queries with it)."""
    now = now or timezone.now()
    ids = due_subscription_ids(cutoff=run_cutoff(run_date), now=now)
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    run = BillingRun.objects.create(
        run_date=run_date,
        trigger=trigger,
        started_at=now,
        subscriptions_due=len(ids),
        chunks_total=len(chunks),
        status=BillingRun.Status.RUNNING if chunks else BillingRun.Status.DONE,
        finished_at=None if chunks else now,
    )
    if inline:
        _run_inline(run.pk, chunks, workers, chunk_runner or billing_run_chunk)
    else:
        for chunk in chunks:
            transaction.on_commit(
                lambda chunk=chunk: async_task("billing.tasks.bill_chunk", run.pk, chunk)
            )
    run.refresh_from_db()
    return run


def _run_inline(run_id: int, chunks: list[list[int]], workers: int, runner) -> None:
    """The chunks in this process: one after the other, or `workers` threads taking the
    next chunk as they finish one. Chunks are independent transactions; they meet only
    at the number series row (numbers stay gap-free, in commit order) and the run's row."""
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            runner(run_id=run_id, subscription_ids=chunk)
        return
    pending = deque(chunks)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    chunk = pending.popleft()
                runner(run_id=run_id, subscription_ids=chunk)
        except BaseException as error:  # billing_run_chunk records its own errors
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work) for _ in range(min(workers, len(chunks)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def billing_run_chunk(
    *, run_id: int, subscription_ids: Sequence[int], now: datetime | None = None
) -> int:
    """Invoice what is due of these subscriptions (one transaction); returns how many
    invoices it issued. Safe to run twice: the second finds nothing due."""
    now = now or timezone.now()
    run = BillingRun.objects.get(pk=run_id)
    errors: list[dict] = []
    try:
        with transaction.atomic():
            issued = _bill(run, subscription_ids, errors, now)
            _record_chunk(run_id, subscription_ids[0], issued, errors, now)
    except Exception as error:
        logger.exception("Billing run %s: a chunk failed.", run_id)
        errors = [{"subscriptions": f"{subscription_ids[0]}-{subscription_ids[-1]}",
                   "message": _("The chunk failed and was rolled back: %(error)s")
                   % {"error": error}}]  # fmt: skip
        _record_chunk(run_id, subscription_ids[0], 0, errors, now)
        return 0
    return issued


def _bill(run: BillingRun, subscription_ids, errors: list[dict], now: datetime) -> int:
    subs = _lock(subscription_ids)
    if not subs:
        return 0
    cutoff = run_cutoff(run.run_date)
    last = _last_invoiced([sub.pk for sub in subs])
    data = _load(subs)
    planned = []
    for sub in subs:
        periods = due_periods(sub, last.get(sub.pk), cutoff, now)
        if not periods and sub.pk not in data.charges:
            continue
        try:
            plan = plan_corporate(sub, periods, data) if sub.is_corporate else Planned(sub, periods)
        except BillingRefused as refusal:
            errors.append(_error(sub, refusal))
            continue
        planned.append(plan)
    windows = usage_windows(planned, data)
    for window, users in zip(windows, billable_users(windows), strict=True):
        data.users[(window.account_id, window.product_id, window.start)] = users
    drafts = []
    for plan in planned:
        try:
            drafts.extend(_drafts_for(plan, data, run.pk))
        except (BillingRefused, ValueError) as refusal:
            errors.append(_error(plan.subscription, refusal))
    refused: list[tuple[InvoiceDraft, str]] = []
    invoices = invoices_issue_bulk(drafts=drafts, now=now, refused=refused)
    _record_refused(refused, errors)
    refused_ids = {id(draft) for draft, _message in refused}
    issued = [draft for draft in drafts if id(draft) not in refused_ids]
    charge_ids = [pk for draft in issued for pk in draft.extra.get("charge_ids", ())]
    if charge_ids:
        Charge.objects.filter(pk__in=charge_ids).update(invoiced_at=now)
    return len(invoices)


# What the drafts read of a subscription (nothing else is loaded: a deferred field read
# later would cost a query per subscription, which the query-count test would show).
LOCKED_FIELDS = (
    "public_id", "customer_id", "offer_id", "corporate_offer_id", "status", "price_amount",
    "currency", "billing_interval_count", "billing_interval_unit", "started_at", "ends_at",
    "ended_at", "payment_method_id",
)  # fmt: skip


def _lock(subscription_ids) -> list[Subscription]:
    """The chunk's subscriptions no other run holds, locked, with their customers and
    offers (fetched apart: joined into the locking query they cost twice as much).
    An account put on billing hold since the run started is skipped here too."""
    subs = list(
        Subscription.objects.select_for_update(skip_locked=True)
        .filter(pk__in=subscription_ids)
        .exclude(customer_id__in=held_customer_ids())
        .only(*LOCKED_FIELDS)
        .order_by("pk")
    )
    customers = Customer.objects.in_bulk({sub.customer_id for sub in subs})
    offers = Offer.objects.select_related("product").in_bulk(
        {sub.offer_id for sub in subs if sub.offer_id}
    )
    corporate_offers = CorporateOffer.objects.in_bulk(
        {sub.corporate_offer_id for sub in subs if sub.corporate_offer_id}
    )
    methods = PaymentMethod.objects.in_bulk(
        {sub.payment_method_id for sub in subs if sub.payment_method_id}
    )
    for sub in subs:
        sub.payment_method = methods.get(sub.payment_method_id)  # the e-invoice's means
        sub.customer = customers[sub.customer_id]
        sub.offer = offers.get(sub.offer_id)
        sub.corporate_offer = corporate_offers.get(sub.corporate_offer_id)
    return subs


def _record_refused(refused: list[tuple[InvoiceDraft, str]], errors: list[dict]) -> None:
    """One error per subscription whose invoices cannot be e-invoices, saying why."""
    seen = set()
    for draft, message in refused:
        if draft.subscription.pk in seen:
            continue
        seen.add(draft.subscription.pk)
        errors.append(_error(draft.subscription, message))


def _error(sub: Subscription, refusal: Exception | str) -> dict:
    return {"subscription": str(sub.public_id), "customer": sub.customer.name,
            "message": str(refusal)}  # fmt: skip


def _load(subs: list[Subscription]) -> ChunkData:
    """Everything the chunk's drafts need, in a fixed number of queries."""
    data = ChunkData()
    ids = [sub.pk for sub in subs]
    offer_ids = {sub.corporate_offer_id for sub in subs if sub.is_corporate}
    if offer_ids:
        rows = (
            CorporateOfferContract.objects.filter(offer_id__in=offer_ids)
            .select_related("contract__product")
            .prefetch_related("contract__tiers")
            .order_by("contract__product__name", "contract_id")
        )
        by_offer = defaultdict(list)
        for row in rows:
            by_offer[row.offer_id].append(row.contract)
        data.contracts = dict(by_offer)
        data.seat_accounts = dict(
            SeatAccount.objects.filter(subscription_id__in=ids).values_list("subscription_id", "pk")
        )
    for charge in Charge.objects.filter(subscription_id__in=ids, invoiced_at__isnull=True).order_by(
        "created_at", "pk"
    ):
        data.charges[charge.subscription_id].append(charge)
    data.charges = dict(data.charges)
    data.redemptions = {
        r.subscription_id: r
        for r in CouponRedemption.objects.filter(subscription_id__in=ids).select_related("code")
    }
    regular = [sub.pk for sub in subs if not sub.is_corporate]
    if regular:
        items = SubscriptionItem.objects.filter(subscription_id__in=regular).select_related(
            "product"
        )
        for item in items.order_by("subscription_id", "pk"):
            data.first_products.setdefault(item.subscription_id, item.product)
    return data


RECORD_SQL = """
UPDATE billing_billingrun
SET chunks_done = chunks_done + 1,
    invoices_created = invoices_created + %(issued)s,
    errors = errors || %(errors)s::jsonb,
    chunks_recorded = chunks_recorded || %(chunk)s::jsonb,
    status = CASE WHEN chunks_done + 1 < chunks_total THEN status
                  WHEN jsonb_array_length(errors || %(errors)s::jsonb) > 0 THEN 'failed'
                  ELSE 'done' END,
    finished_at = CASE WHEN chunks_done + 1 >= chunks_total THEN %(now)s END
WHERE id = %(run)s AND NOT chunks_recorded @> %(chunk)s::jsonb
"""


def _record_chunk(run_id: int, chunk: int, issued: int, errors: list[dict], now: datetime) -> None:
    """Count the chunk (its first subscription id) into its run, once: one UPDATE, the
    row lock orders concurrent chunks. A chunk run again (its task redelivered after a
    crash) finds nothing due and is not counted again."""
    from django.core.serializers.json import DjangoJSONEncoder

    if connection.vendor != "postgresql":
        _record_chunk_portably(run_id, chunk, issued, errors, now)
        return
    params = {
        "issued": issued,
        "errors": DjangoJSONEncoder().encode(errors),
        "chunk": f"[{int(chunk)}]",
        "now": now,
        "run": run_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, params)


def _record_chunk_portably(
    run_id: int, chunk: int, issued: int, errors: list[dict], now: datetime
) -> None:
    """The same as RECORD_SQL for databases without jsonb (the SQLite demo)."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run_id)
        if chunk in run.chunks_recorded:
            return
        run.chunks_recorded = [*run.chunks_recorded, chunk]
        run.chunks_done += 1
        run.invoices_created += issued
        run.errors = [*run.errors, *errors]
        if run.chunks_done >= run.chunks_total:
            run.status = BillingRun.Status.FAILED if run.errors else BillingRun.Status.DONE
            run.finished_at = now
        run.save()


def billing_run_for_date(*, run_date: date | None = None, trigger: str = Trigger.SCHEDULE) -> int:
    """The daily schedule's entry point: closes runs a lost task left open, then a run
    for today (merchant time), in tasks."""
    billing_runs_close_stale()
    run_date = run_date or timezone.localdate()
    return billing_run_start(run_date=run_date, trigger=trigger).pk


STALE_AFTER = timedelta(hours=12)


@transaction.atomic
def billing_runs_close_stale(*, now: datetime | None = None) -> int:
    """Runs still "running" long after they started lost a chunk task (a crashed worker):
    they are marked done with errors, saying so. Nothing is lost: the subscriptions of
    the lost chunk are still due and the next run invoices them."""
    now = now or timezone.now()
    stale = BillingRun.objects.filter(
        status=BillingRun.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    closed = 0
    for run in stale.select_for_update(skip_locked=True):
        missing = run.chunks_total - run.chunks_done
        run.errors = [
            *run.errors,
            {
                "subscriptions": "",
                "message": _(
                    "%(missing)d chunk(s) never finished (a lost task); their subscriptions "
                    "are invoiced by the next run."
                )
                % {"missing": missing},
            },
        ]
        run.status, run.finished_at = BillingRun.Status.FAILED, now
        run.save(update_fields=["errors", "status", "finished_at"])
        closed += 1
    return closed
