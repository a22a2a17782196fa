"""Pages answer a throttled attempt (security.throttle.Throttled) with 429 and a page
that says how long to wait; the API answers its own problem (subscriptions.api)."""

from __future__ import annotations

from django.shortcuts import render

from .throttle import Throttled


class ThrottledMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Throttled):
            return None
        response = render(
            request, "security/throttled.html", {"message": exception.message}, status=429
        )
        response["Retry-After"] = str(exception.retry_after)
        return response
