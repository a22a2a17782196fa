"""Dunning: what happens after a charge failed, until the invoice is paid or the
retries are exhausted (SPEC §4 "Failed payments").

- **Corporate subscriptions** follow the corporate schedule (`billing.dunning.retry_days`
  of the subscription's billing interval). When the last retry fails, the subscription
  pays by invoice from then on and the customer gets the "payment failed" e-mail with
  the bank details. The invoice stays open: it is never cancelled because a payment
  failed. The merchant's dunning policy does not apply to them.
- **Regular subscriptions** follow the merchant's `DunningPolicy` (retry days, a
  reminder e-mail after each failure, and at the end: keep, pause access, or end the
  subscription), copied into the dunning when it starts, so editing the policy never
  reshuffles a dunning under way. The invoice stays open whatever the final action.

Each retry is a pending `PaymentAttempt` due on its day, at the local time of day of
the first failure; `billing.services.collection` executes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from billing.dunning import retry_days
from billing.models import Dunning, DunningPolicy, FinalAction, Invoice, PaymentAttempt
from catalog.models import PaymentMethod as PaymentKind
from catalog.money import format_money
from notifications.events import EventType, MailType
from notifications.services import Mail, emit
from subscriptions.models import Subscription
from subscriptions.services.access import subscription_access_pause, subscription_access_resume
from subscriptions.services.lifecycle import subscription_end
from subscriptions.services.payments import payment_method_add, subscription_change_payment_method

ELECTRONIC = (PaymentKind.CARD, PaymentKind.SEPA_DIRECT_DEBIT)


def dunning_policy() -> DunningPolicy:
    """The merchant's policy (one row, made with the defaults on first use)."""
    policy, _created = DunningPolicy.objects.get_or_create(pk=1)
    return policy


def idempotency_key(invoice: Invoice, number: int) -> str:
    """The gateway key of an invoice's n-th attempt: stable, so a replay is recognised."""
    return f"kontor-{invoice.public_id}-{number}"


def electronic_method(subscription: Subscription | None):
    """The card or SEPA mandate the subscription pays with now, or None (invoice)."""
    method = subscription.payment_method if subscription is not None else None
    if method is None or method.kind not in ELECTRONIC or method.status != "active":
        return None
    return method


def retry_schedule_for(subscription: Subscription) -> list[int]:
    """The corporate schedule of the subscription's billing interval (a month when it
    has none recorded, the usual corporate interval)."""
    count = subscription.billing_interval_count or 1
    unit = subscription.billing_interval_unit or "month"
    return retry_days(count, unit)


def on_day(failed_at: datetime, day: int) -> datetime:
    """`day` days after the failure, at the same local time of day (so a retry lands on
    the right calendar day across a daylight-saving switch)."""
    local = timezone.localtime(failed_at)
    return (local + timedelta(days=day)).astimezone(failed_at.tzinfo)


def dunning_after_failure(
    *, attempt: PaymentAttempt, now: datetime, announce: Callable[[list[Mail]], None]
) -> None:
    """Advance the invoice's dunning after a failed attempt (call under the attempt's
    lock): schedule the next retry, or carry out the final action. `announce(mails)`
    emits the "payment failed" event with the e-mails the step sends; it is called
    before the final action, so listeners hear of the failure before its consequences."""
    invoice = attempt.invoice
    if invoice.status not in (Invoice.Status.OPEN, Invoice.Status.OVERDUE):
        announce([])  # a replayed charge of an invoice settled meanwhile: nothing to dun
        return
    dunning = Dunning.objects.select_for_update().filter(invoice=invoice).first()
    started = dunning is None
    if started:
        dunning = _start(invoice, attempt, now)
    elif attempt.trigger == PaymentAttempt.Trigger.RETRY:
        dunning.retries_done += 1
    dunning.last_error = (attempt.message or attempt.error_code)[:300]
    # Staff's extra retry leaves a running schedule as it is (or starts one).
    manual_extra = attempt.trigger == PaymentAttempt.Trigger.MANUAL and not started
    if dunning.status == Dunning.Status.RETRYING and not manual_extra:
        _next_step(dunning, attempt, now, announce)
    else:
        announce([])
    dunning.save()


def _start(invoice: Invoice, attempt: PaymentAttempt, now: datetime) -> Dunning:
    subscription = invoice.subscription
    if subscription.is_corporate:
        days, final, remind = retry_schedule_for(subscription), FinalAction.SWITCH_TO_INVOICE, False
        schedule = Dunning.Schedule.CORPORATE
    else:
        policy = dunning_policy()
        days, final, remind = policy.days, policy.final_action, policy.remind_customer
        schedule = Dunning.Schedule.POLICY
    return Dunning(
        invoice=invoice,
        customer_id=invoice.customer_id,
        subscription=subscription,
        schedule=schedule,
        retry_days=days,
        final_action=final,
        remind_customer=remind,
        failed_at=now,
    )


def _next_step(dunning: Dunning, attempt: PaymentAttempt, now: datetime, announce) -> None:
    if dunning.retries_done < dunning.retries_total:
        when = on_day(dunning.failed_at, dunning.retry_days[dunning.retries_done])
        _schedule_retry(dunning, attempt, when)
        dunning.next_attempt_at = when
        reminder = dunning.remind_customer
        announce(
            _mails(MailType.PAYMENT_REMINDER, dunning.invoice, attempt, when) if reminder else []
        )
        return
    announce(_mails(MailType.PAYMENT_FAILED, dunning.invoice, attempt, None))
    _exhaust(dunning, now)


def _schedule_retry(dunning: Dunning, attempt: PaymentAttempt, when: datetime) -> None:
    attempt_create(
        invoice=dunning.invoice,
        payment_method=attempt.payment_method,
        trigger=PaymentAttempt.Trigger.RETRY,
        scheduled_for=when,
    )


def attempt_create(
    *, invoice: Invoice, payment_method, trigger: str, scheduled_for: datetime
) -> PaymentAttempt:
    """The invoice's next attempt (number and idempotency key), pending until
    `scheduled_for`, for what is due now. Two at once: the second gets IntegrityError
    (one number per invoice)."""
    last = invoice.payment_attempts.order_by("-number").values_list("number", flat=True).first()
    number = (last or 0) + 1
    return PaymentAttempt.objects.create(
        invoice=invoice,
        customer_id=invoice.customer_id,
        payment_method=payment_method,
        number=number,
        trigger=trigger,
        idempotency_key=idempotency_key(invoice, number),
        amount=invoice.amount_due,
        currency=invoice.currency,
        scheduled_for=scheduled_for,
    )


def _exhaust(dunning: Dunning, now: datetime) -> None:
    """The last retry failed: the final action. The invoice stays open."""
    dunning.status, dunning.ended_at, dunning.next_attempt_at = Dunning.Status.EXHAUSTED, now, None
    subscription = dunning.subscription
    action = dunning.final_action
    if action == FinalAction.SWITCH_TO_INVOICE:
        _switch_to_invoice(dunning, now)
    elif action == FinalAction.PAUSE:
        subscription_access_pause(
            subscription=subscription,
            reason=_("Invoice %(number)s unpaid after every retry.")
            % {"number": dunning.invoice.number},
            now=now,
        )
        dunning.outcome = _("Access paused until the invoice is paid; the invoice stays open.")
    elif action == FinalAction.CANCEL:
        if subscription.status != Subscription.Status.ENDED:
            subscription_end(subscription=subscription, now=now)
        dunning.outcome = _("Subscription ended; the invoice stays open.")
    else:
        dunning.outcome = _("Subscription kept; the invoice stays open.")


def _switch_to_invoice(dunning: Dunning, now: datetime) -> None:
    subscription = dunning.subscription
    previous = subscription.payment_method
    method = payment_method_add(customer=subscription.customer, kind=PaymentKind.INVOICE)
    subscription_change_payment_method(subscription=subscription, payment_method=method)
    dunning.outcome = _("Switched to invoice payment; the invoice stays open.")
    emit(
        type=EventType.PAYMENT_METHOD_SWITCHED,
        subject=subscription,
        payload={
            "subscription": str(subscription.public_id),
            "customer": str(subscription.customer.public_id),
            "invoice": str(dunning.invoice.public_id),
            "number": dunning.invoice.number,
            "from": previous.kind if previous else None,
            "to": PaymentKind.INVOICE,
        },
        occurred_at=now,
    )


def _mails(template: str, invoice: Invoice, attempt: PaymentAttempt, when) -> list[Mail]:
    address = invoice.customer.email
    if not address:
        return []
    language = invoice.language or settings.LANGUAGE_CODE
    with override(language):
        context = {
            "invoice_number": invoice.number,
            "amount": format_money(invoice.amount_due, invoice.currency, language),
            "reason": attempt.message,
            "merchant_name": settings.KONTOR_MERCHANT_NAME,
        }
        if template == MailType.PAYMENT_REMINDER:
            context["next_attempt"] = (
                formats.date_format(timezone.localtime(when), "DATE_FORMAT") if when else ""
            )
            context["payment_methods_url"] = settings.KONTOR_PUBLIC_URL.rstrip("/") + reverse(
                "subscriptions:payment_method_list"
            )
        else:
            bank = merchant_bank()
            context |= {
                "bank_name": bank["bank"],
                "iban": bank["iban"],
                "bic": bank["bic"],
                "reference": invoice.number,
            }
    return [Mail(template=template, to=address, language=language, context=context)]


def merchant_bank() -> dict[str, str]:
    """Where customers transfer to: the account holder (the merchant), bank, IBAN as
    people read it, BIC; for the "payment failed" e-mail and the portal."""
    return {
        "name": settings.KONTOR_MERCHANT_NAME,
        "bank": settings.KONTOR_MERCHANT_BANK,
        "iban": iban_grouped(settings.KONTOR_MERCHANT_IBAN),
        "bic": settings.KONTOR_MERCHANT_BIC,
    }


def iban_grouped(iban: str) -> str:
    """DE89370400440532013000 → DE89 3704 0044 0532 0130 00, as people read it."""
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def dunning_settle(*, invoice: Invoice, paid: bool, now: datetime) -> None:
    """The invoice was paid (by any way) or voided: pending attempts are not needed, the
    dunning ends, and access paused for it resumes (call in the settling transaction)."""
    # Only attempts not yet sent: one under way is answered and recorded (see
    # billing.services.collection._paid), never dropped with a charge it may have made.
    invoice.payment_attempts.filter(status=PaymentAttempt.Status.PENDING, sent_at=None).update(
        status=PaymentAttempt.Status.SKIPPED,
        message=_("The invoice was paid.") if paid else _("The invoice was voided."),
    )
    dunning = Dunning.objects.select_for_update().filter(invoice=invoice).first()
    if dunning is None or dunning.status in (Dunning.Status.RECOVERED, Dunning.Status.STOPPED):
        return
    was_exhausted = dunning.status == Dunning.Status.EXHAUSTED
    if paid:
        dunning.status = Dunning.Status.RECOVERED
        dunning.outcome = (
            _("Paid after the retries ended.") if was_exhausted else _("Paid during dunning.")
        )
    else:
        dunning.status, dunning.outcome = Dunning.Status.STOPPED, _("The invoice was voided.")
    dunning.ended_at = dunning.ended_at or now
    dunning.next_attempt_at = None
    dunning.save()
    subscription = dunning.subscription
    if subscription.access_paused_at is not None and not _still_unpaid(subscription, invoice):
        subscription_access_resume(
            subscription=subscription,
            reason=_("Invoice %(number)s settled.") % {"number": invoice.number},
            now=now,
        )


def _still_unpaid(subscription: Subscription, settled: Invoice) -> bool:
    """Another exhausted dunning of the subscription keeps its access paused."""
    return (
        Dunning.objects.filter(subscription=subscription, status=Dunning.Status.EXHAUSTED)
        .exclude(invoice=settled)
        .exists()
    )


def dunning_stop(*, invoice: Invoice, reason: str, now: datetime) -> None:
    """Stop retrying (the subscription now pays by invoice, e.g. the customer chose it)."""
    Dunning.objects.filter(invoice=invoice, status=Dunning.Status.RETRYING).update(
        status=Dunning.Status.STOPPED, ended_at=now, next_attempt_at=None, outcome=reason[:300]
    )
