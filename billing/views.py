"""Billing pages. The price chart is an image the corporate contract admin embeds."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language, gettext, to_locale
from django.views.decorators.cache import never_cache

from catalog.models import CorporateContract
from security.decorators import staff_member_required

from .charts import render_message, render_price_chart
from .selectors import corporate_contract_with_tiers, price_schedule_for_contract

# The admin shows a contract to whoever may view or change it; so does its chart.
CONTRACT_PERMISSIONS = ("catalog.view_corporatecontract", "catalog.change_corporatecontract")


@never_cache
@staff_member_required
def contract_price_chart(request: HttpRequest, pk: int) -> HttpResponse:
    """SVG of the contract's price for 0…N users (staff with view permission only)."""
    if not any(request.user.has_perm(perm) for perm in CONTRACT_PERMISSIONS):
        raise PermissionDenied
    try:
        contract = corporate_contract_with_tiers(pk=pk)
    except CorporateContract.DoesNotExist:
        raise Http404(gettext("No such contract.")) from None
    return HttpResponse(_price_chart_svg(contract), content_type="image/svg+xml")


def _price_chart_svg(contract: CorporateContract) -> str:
    if not contract.tiers.all():
        return render_message(gettext("Add price tiers to see the chart"))
    try:
        schedule = price_schedule_for_contract(contract)
    except ValueError:
        # Tiers saved past the admin's checks, e.g. without an open-ended last tier.
        return render_message(gettext("Complete the price tiers to see the chart"))
    return render_price_chart(
        schedule,
        currency=contract.currency,
        locale=to_locale(get_language() or "en"),
        maximum_users=contract.maximum_users,
        name=contract.name,
    )
