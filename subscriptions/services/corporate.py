"""Corporate subscriptions: a customer's subscription to a corporate offer (SPEC §1, §3, §4).

Corporate deals are signed offline, so staff create them (`corporate_subscription_create`,
called by the subscription admin's "New corporate subscription" page and by the demo
seeding). Like the purchase, the service checks everything first and writes nothing when
it refuses (PurchaseRefused names the form field at fault); then it copies in what billing
needs, so later contract edits never change what was signed:

- `currency`: the contracts' (one currency per offer; the customer's must match).
- `started_at`, and the current period from the contracts' **accounting period**, counted
  from the start on the merchant's clock (catalog.periods), like a purchase's billing
  interval: billing invoices each accounting period after it ends, and the renewal job
  (`subscriptions_advance`) moves `current_period_*` on by `billing_interval_*`, which
  is therefore the accounting period.
- `term_snapshot`: the contract terms every contract of the offer shares
  (`CorporateContract.TERM_FIELDS`). There is no catalog Term, so `term` stays empty and
  the lifecycle reads the cancellation period and subscription interval from here.
- `price_amount` 0: corporate subscriptions are post-billed, priced from usage.
- `user_count`: the maximum user count (`corporate_maximum_users`), 0 when unlimited; the
  seat account takes its maximum from it (seats.services.seats).
- One SubscriptionItem per product of the offer's contracts (source "included", no
  bundle: a corporate bundle is a structure of the offer, not a catalog Bundle).

Not done here (left to the lifecycle/billing issue): a *fixed* contract duration does not
end the subscription by itself yet; its values are in `term_snapshot`.

This app sits below seats and does not import it: the seat account is made by
`seats.services.seats.seat_account_for_subscription` on first use (the portal's user
page, the admin's multi-user account link, the demo seeding), as for multi-user
subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import CorporateContract, CorporateOffer, Status
from catalog.models import PaymentMethod as PaymentKind
from catalog.money import round_money
from catalog.periods import period_bounds
from subscriptions.exceptions import PurchaseRefused
from subscriptions.models import (
    Customer,
    PaymentMethod,
    Subscription,
    SubscriptionItem,
    User,
)
from subscriptions.services.payments import payment_method_add
from subscriptions.services.purchase import subscription_created_record

INVOICE = PaymentKind.INVOICE.value


def corporate_maximum_users(contracts: Iterable[CorporateContract]) -> int | None:
    """The maximum number of users of a corporate subscription; None = unlimited.

    In a bundle every user gets every product, so its contracts share one maximum (the
    catalog validates that) and that is it. With several individual products each user
    still holds one seat of the subscription and gets every product it includes (issue 5:
    one user subscription per user and product), so the tightest contract binds: the
    smallest maximum that is set. Empty everywhere means unlimited."""
    limits = [c.maximum_users for c in contracts if c.maximum_users is not None]
    return min(limits) if limits else None


def corporate_offer_contracts(corporate_offer: CorporateOffer) -> list[CorporateContract]:
    """The offer's contracts with their products, in product-name order."""
    return list(corporate_offer.contracts.select_related("product").order_by("product__name", "pk"))


@transaction.atomic
def corporate_subscription_create(
    *,
    customer: Customer,
    corporate_offer: CorporateOffer,
    actor: User | None = None,
    payment_method: PaymentMethod | str | None = None,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Subscribe `customer` to `corporate_offer` from `starts_at` (default: now).

    `payment_method` is one of the customer's active methods, or "invoice" / None for
    invoice payment (the customer's invoice method, created on first use): a corporate
    invoice always needs a way to be paid, and SPEC §4 falls back to invoice payment.
    Raises PurchaseRefused and writes nothing when the offer is not on sale, the
    customer has no main user (the corporate admin who manages the users), the
    currencies differ, the start lies before today, or the method is not the
    customer's."""
    now = now or timezone.now()
    starts_at = starts_at or now
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    corporate_offer = CorporateOffer.objects.get(pk=corporate_offer.pk)
    contracts = corporate_offer_contracts(corporate_offer)
    _check(customer, corporate_offer, contracts, starts_at, now)
    method = _payment_method(customer, payment_method, actor)
    subscription = _create_subscription(customer, corporate_offer, contracts, method, starts_at)
    SubscriptionItem.objects.bulk_create(
        SubscriptionItem(
            subscription=subscription,
            product_id=contract.product_id,
            source=SubscriptionItem.Source.INCLUDED,
        )
        for contract in contracts
    )
    subscription_created_record(
        subscription=subscription,
        actor=actor,
        message=_("Corporate subscription to %(offer)s created.") % {"offer": corporate_offer.name},
        now=now,
    )
    return subscription


def _check(
    customer: Customer,
    corporate_offer: CorporateOffer,
    contracts: list[CorporateContract],
    starts_at: datetime,
    now: datetime,
) -> None:
    if corporate_offer.status != Status.ACTIVE or not corporate_offer.is_valid_at(now):
        raise PurchaseRefused(
            _("This corporate offer is not on sale (not active or outside its validity)."),
            field="corporate_offer",
        )
    if not contracts:
        raise PurchaseRefused(_("This corporate offer has no contracts."), field="corporate_offer")
    if customer.main_user_id is None:
        raise PurchaseRefused(
            _(
                "The customer has no main user. Set the main user (the corporate admin "
                "who will manage the users) on the customer first."
            ),
            field="customer",
        )
    currency = contracts[0].currency
    if customer.currency != currency:
        raise PurchaseRefused(
            _(
                "The corporate offer is in %(offer)s but the customer pays in %(customer)s; "
                "choose an offer in the customer's currency."
            )
            % {"offer": currency, "customer": customer.currency},
            field="corporate_offer",
        )
    start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if starts_at < start_of_today:
        raise PurchaseRefused(
            _("A corporate subscription cannot start in the past."), field="starts_at"
        )


def _payment_method(
    customer: Customer, payment_method: PaymentMethod | str | None, actor: User | None
) -> PaymentMethod:
    if payment_method is None or payment_method == INVOICE:
        return payment_method_add(customer=customer, kind=INVOICE, actor=actor)
    if isinstance(payment_method, PaymentMethod):
        # Locked until commit, so it cannot be removed between this check and the insert.
        method = (
            PaymentMethod.objects.select_for_update()
            .filter(pk=payment_method.pk, customer=customer, status=PaymentMethod.Status.ACTIVE)
            .first()
        )
        if method is not None:
            return method
    raise PurchaseRefused(
        _("This payment method is not available. Choose another one."), field="payment_method"
    )


def _create_subscription(
    customer: Customer,
    corporate_offer: CorporateOffer,
    contracts: list[CorporateContract],
    payment_method: PaymentMethod,
    starts_at: datetime,
) -> Subscription:
    terms = contracts[0]  # every contract of an offer shares its terms (catalog rule)
    count, unit = terms.accounting_period_count, terms.accounting_period_unit
    # Month arithmetic runs on the merchant's wall clock (catalog.periods); stored as UTC.
    period_start, period_end = period_bounds(timezone.localtime(starts_at), 0, count, unit)
    maximum = corporate_maximum_users(contracts)
    return Subscription.objects.create(
        customer=customer,
        corporate_offer=corporate_offer,
        price_amount=round_money(Decimal(0), terms.currency),
        currency=terms.currency,
        billing_interval_count=count,
        billing_interval_unit=unit,
        user_count=maximum or 0,
        term_snapshot={field: getattr(terms, field) for field in CorporateContract.TERM_FIELDS},
        started_at=starts_at,
        current_period_start=period_start,
        current_period_end=period_end,
        payment_method=payment_method,
    )
