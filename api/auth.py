"""Bearer authentication with scopes, and the per-key rate limit.

    @router.get("/things", auth=scope("read"))
    @router.post("/things", auth=scope("seats"))

A missing or unknown or revoked key is 401 (`unauthenticated`); a valid key without the
operation's scope is 403 (`scope_missing`). `request.auth` is the ApiKey.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle

from api.models import ApiKey, Scope
from api.services import api_key_authenticate


class ApiKeyAuth(HttpBearer):
    def __init__(self, required_scope: str) -> None:
        if required_scope not in Scope.values:
            raise ValueError(f"Unknown scope {required_scope!r}.")
        self.required_scope = required_scope
        super().__init__()

    def authenticate(self, request, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(token=token)
        if api_key is None:
            return None
        if not api_key.has_scope(self.required_scope):
            raise AuthorizationError(
                message=f"This API key lacks the scope {self.required_scope!r}."
            )
        return api_key


@cache
def scope(name: str) -> ApiKeyAuth:
    """The auth for operations that need scope `name` (one instance per scope)."""
    return ApiKeyAuth(name)


class KeyRateThrottle(AuthRateThrottle):
    """Requests per key (AuthRateThrottle counts per str(request.auth)) in the Django
    cache, at the rate of setting KONTOR_API_RATE_LIMIT ("600/m"), read on each request
    so an operator (or a test) can change it without a restart."""

    def __init__(self) -> None:
        super().__init__(settings.KONTOR_API_RATE_LIMIT)

    def allow_request(self, request) -> bool:
        self.rate = settings.KONTOR_API_RATE_LIMIT
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)
