"""Portal pages of this app. The login and password pages are Django's auth views,
configured in urls.py with Kontor's templates."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from subscriptions.services.users import user_set_language


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "subscriptions/home.html")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie and redirect), and a logged-in user's preference."""
    response = django_set_language(request)
    if request.user.is_authenticated:
        user_set_language(user=request.user, language=request.POST.get("language", ""))
    return response
