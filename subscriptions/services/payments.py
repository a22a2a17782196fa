"""Payment methods on file: adding one through the gateway, removing one, and choosing
which one pays for a subscription.

Every refusal is a `PaymentRefused` with a message the customer can read and a `code`
(the gateway's, or one of ours: "unsupported_kind", "gateway_unavailable" (temporary),
"in_use", "not_yours", "not_active", "not_supported_by_plan", "subscription_ended");
nothing is stored then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Offer
from catalog.models import PaymentMethod as PaymentKind
from notifications.events import EventType
from notifications.services import emit
from subscriptions.exceptions import PaymentRefused
from subscriptions.gateways import ChargeResult, get_gateway
from subscriptions.models import Activity, Customer, PaymentMethod, Subscription, User

logger = logging.getLogger(__name__)

# Subscriptions that still run (a cancelled one runs until it ends) and may be billed.
RUNNING = (Subscription.Status.ACTIVE, Subscription.Status.CANCELLED)


def offer_accepts(offer: Offer, kind: str) -> bool:
    """Plan offers take the plan's payment methods; product offers take every kind."""
    return offer.plan is None or offer.plan.supports(kind)


def payment_method_add(
    *,
    customer: Customer,
    kind: str,
    details: Mapping[str, str] | None = None,
    actor: User | None = None,
) -> PaymentMethod:
    """Put a payment method on file. Card and SEPA details go to the gateway, which
    answers with a token; only the token, the label, the expiry and the SEPA mandate
    reference are stored. Invoice payment needs no details, and a customer has it once
    (asking again returns the one on file)."""
    if kind not in PaymentKind.values:
        raise PaymentRefused(
            _("Choose a card, SEPA direct debit or invoice."), code="unsupported_kind"
        )
    if kind == PaymentKind.INVOICE:
        return _invoice_method(customer=customer, actor=actor)
    gateway = get_gateway()
    try:
        created = gateway.create_payment_method(kind=kind, details=details or {})
    except PaymentRefused:
        raise
    except Exception as error:
        # A gateway outage or bug must not become a server error page.
        logger.exception("The payment gateway failed to create a %s method", kind)
        raise PaymentRefused(
            _("Our payment provider could not be reached. Please try again in a few minutes."),
            code="gateway_unavailable",
            temporary=True,
        ) from error
    try:
        with transaction.atomic():
            method = PaymentMethod.objects.create(
                customer=customer,
                kind=kind,
                gateway=gateway.name,
                token=created.token,
                label=created.label,
                expires_month=created.expires_month,
                expires_year=created.expires_year,
                mandate_reference=created.mandate_reference,
            )
            _log(customer, actor, "payment_method.added", method.label)
    except Exception:
        gateway.detach(created.token)  # don't leave an orphan at the gateway
        raise
    return method


def _invoice_method(*, customer: Customer, actor: User | None) -> PaymentMethod:
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)  # one invoice method each
        method = customer.payment_methods.filter(
            kind=PaymentKind.INVOICE, status=PaymentMethod.Status.ACTIVE
        ).first()
        if method is None:
            method = PaymentMethod.objects.create(
                customer=customer, kind=PaymentKind.INVOICE, label=str(PaymentKind.INVOICE.label)
            )
            _log(customer, actor, "payment_method.added", method.label)
        return method


def payment_method_remove(
    *, payment_method: PaymentMethod, actor: User | None = None
) -> PaymentMethod:
    """Take a method off file (it stays for the history) and detach it at the gateway
    after commit. Refused while a running subscription pays with it."""
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        if method.status == PaymentMethod.Status.REMOVED:
            return method
        in_use = list(
            method.subscriptions.filter(status__in=RUNNING).select_related(
                "offer", "corporate_offer"
            )[:3]
        )
        if in_use:
            raise PaymentRefused(
                _(
                    "%(method)s pays for %(subscriptions)s. "
                    "Choose another payment method there first."
                )
                % {
                    "method": method.label,
                    "subscriptions": ", ".join(s.title for s in in_use),
                },
                code="in_use",
            )
        method.status = PaymentMethod.Status.REMOVED
        method.save(update_fields=["status"])
        _log(method.customer, actor, "payment_method.removed", method.label)
        if method.token:
            transaction.on_commit(lambda: _detach(method))
    return method


def _detach(method: PaymentMethod) -> None:
    try:
        get_gateway().detach(method.token)
    except Exception:
        # Removed on our side already; the gateway keeps an unused token. Staff can retry.
        logger.exception("Could not detach payment method %s at the gateway", method.public_id)


def subscription_change_payment_method(
    *, subscription: Subscription, payment_method: PaymentMethod, actor: User | None = None
) -> Subscription:
    """Let another of the customer's methods pay for the subscription from now on."""
    with transaction.atomic():
        # Fixed order: the subscription, then the method (payment_method_remove locks it).
        sub = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("offer__plan", "corporate_offer", "customer")
            .get(pk=subscription.pk)
        )
        method = PaymentMethod.objects.select_for_update().get(pk=payment_method.pk)
        _check_change(sub, method)
        if sub.payment_method_id == method.pk:
            return sub
        previous = sub.payment_method.label if sub.payment_method_id else "—"
        sub.payment_method = method
        sub.save(update_fields=["payment_method", "updated_at"])
        Activity.objects.create(
            customer=sub.customer,
            subscription=sub,
            actor=actor,
            verb="subscription.payment_method_changed",
            message=f"{previous} → {method.label}",
        )
        emit(
            type=EventType.PAYMENT_METHOD_CHANGED,
            subject=sub,
            payload={
                "subscription": str(sub.public_id),
                "customer": str(sub.customer.public_id),
                "kind": method.kind,
                "label": method.label,
            },
        )
    return sub


def payment_method_charge(
    *,
    payment_method: PaymentMethod,
    amount: Decimal,
    currency: str,
    idempotency_key: str,
    description: str,
) -> ChargeResult:
    """Charge a card or SEPA method on file through its gateway (for billing and
    dunning, which record the outcome). A method that was removed, or that belongs to
    another gateway than the configured one, comes back declined without a charge. The
    same `idempotency_key` never charges twice; use a new one for each retry."""
    if payment_method.kind == PaymentKind.INVOICE:
        raise ValueError("Invoice payment is not charged through a gateway.")
    gateway = get_gateway()
    if payment_method.status != PaymentMethod.Status.ACTIVE:
        return ChargeResult(
            ChargeResult.DECLINED,
            "",
            "payment_method_removed",
            _("The payment method was removed."),
        )
    if payment_method.gateway != gateway.name:
        return ChargeResult(
            ChargeResult.DECLINED,
            "",
            "gateway_mismatch",
            _("The payment method is held by another payment provider."),
        )
    return gateway.charge(
        token=payment_method.token,
        amount=amount,
        currency=currency,
        idempotency_key=idempotency_key,
        description=description,
    )


def _check_change(sub: Subscription, method: PaymentMethod) -> None:
    if method.customer_id != sub.customer_id:
        raise PaymentRefused(
            _("This payment method belongs to another customer account."), code="not_yours"
        )
    if sub.status == Subscription.Status.ENDED:
        raise PaymentRefused(_("This subscription has ended."), code="subscription_ended")
    if method.status != PaymentMethod.Status.ACTIVE:
        raise PaymentRefused(_("This payment method has been removed."), code="not_active")
    # Corporate offers have no plan and accept every method (SPEC §4 collects corporate
    # invoices electronically when a method is on file, else by invoice).
    if sub.offer is not None and not offer_accepts(sub.offer, method.kind):
        raise PaymentRefused(
            _("%(offer)s cannot be paid by %(kind)s.")
            % {"offer": sub.title, "kind": method.get_kind_display()},
            code="not_supported_by_plan",
        )


def _log(customer: Customer, actor: User | None, verb: str, message: str) -> None:
    Activity.objects.create(customer=customer, actor=actor, verb=verb, message=message)
