"""Portal pages of this app. The login and password pages are Django's auth views,
configured in urls.py with Kontor's templates."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from subscriptions.models import Subscription
from subscriptions.selectors.customers import portal_customer_for_user
from subscriptions.selectors.subscriptions import subscription_list_for_customer
from subscriptions.services.users import user_set_language
from subscriptions.views.portal import decorate

HOME_SUBSCRIPTIONS = 3


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A greeting and the newest subscriptions that still run (staff, users without
    a customer account and an account's other users see the empty state)."""
    subscriptions = []
    customer = portal_customer_for_user(user=request.user)
    if customer is not None:
        running = subscription_list_for_customer(customer=customer).exclude(
            status=Subscription.Status.ENDED
        )
        subscriptions = decorate(running[:HOME_SUBSCRIPTIONS])
    return render(request, "subscriptions/home.html", {"subscriptions": subscriptions})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie and redirect), and a logged-in user's preference."""
    response = django_set_language(request)
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    return response
