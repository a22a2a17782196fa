"""Portal pages of this area (see subscriptions/urls.py for the URLs)."""

from django.http import Http404


def not_built_yet(request, *args, **kwargs):
    raise Http404
