"""Pages of this area (see seats/urls.py and seats/join_urls.py for the URLs)."""

from django.http import Http404


def not_built_yet(request, *args, **kwargs):
    raise Http404
