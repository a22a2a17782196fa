"""Errors as RFC 9457 problem details (application/problem+json), in one place.

Every error the API answers has a stable machine-readable `code` (documented in
docs/api.md), a `title`, the HTTP `status`, a `detail` for people and, where one field
is at fault, `field` (a dotted path into the request: "body.email", "query.cursor").

Domain apps' exceptions are mapped here without this app importing them: each app's
`api.py` calls `register_problem(ExceptionClass, status=…, code=…)` (the code may be a
function of the exception, e.g. a refusal's `reason`). Unmapped exceptions are server
errors: logged, and answered as a problem with status 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class Problem(Exception):
    """Raise from a handler to answer with a problem."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str = "",
        *,
        field: str | None = None,
        members: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = str(detail)
        self.field = field
        self.members = members or {}


def problem_response(
    request: HttpRequest | None,
    *,
    status: int,
    code: str,
    detail: str = "",
    field: str | None = None,
    members: dict[str, Any] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"urn:kontor:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": str(detail) or TITLES.get(status, "Error"),
    }
    if request is not None:
        body["instance"] = request.path
    if field is not None:
        body["field"] = field
    body.update(members or {})
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str), status=status, content_type=CONTENT_TYPE
    )


# --- the mapping of domain exceptions --------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    status: int
    code: str | Callable[[Exception], str]
    field: Callable[[Exception], str | None] | None = None
    members: Callable[[Exception], dict[str, Any]] | None = None


_registry: dict[type[Exception], Mapping] = {}


def register_problem(
    exception: type[Exception],
    *,
    status: int,
    code: str | Callable[[Exception], str],
    field: Callable[[Exception], str | None] | None = None,
    members: Callable[[Exception], dict[str, Any]] | None = None,
) -> None:
    """Answer `exception` (and subclasses without a mapping of their own) with this
    status and code. Called by the domain apps' api.py modules at import."""
    _registry[exception] = Mapping(status, code, field, members)


def _mapping_for(exc: Exception) -> Mapping | None:
    for cls in type(exc).__mro__:
        if cls in _registry:
            return _registry[cls]
    return None


def _message(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


def _django_validation(request, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": f"body.{name}" if name != "__all__" else None, "message": str(message)}
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": None, "message": str(message)} for message in exc.messages]
    first = errors[0] if errors else {"field": None, "message": ""}
    return problem_response(
        request,
        status=422,
        code="invalid",
        detail=first["message"],
        field=first["field"],
        members={"errors": errors},
    )


def _ninja_validation(request, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        if len(location) > 2 and location[0] == location[1] == "body":
            del location[1]  # ninja names the source and then the parameter ("body")
        errors.append({"field": ".".join(location) or None, "message": error.get("msg", "")})
    first = errors[0] if errors else {"field": None, "message": ""}
    return problem_response(
        request,
        status=422,
        code="invalid_request",
        detail=f"{first['field']}: {first['message']}" if first["field"] else first["message"],
        field=first["field"],
        members={"errors": errors},
    )


def handle_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The API's one exception handler (installed for Exception on the NinjaAPI)."""
    if isinstance(exc, Problem):
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            detail=exc.detail,
            field=exc.field,
            members=exc.members,
        )
    if isinstance(exc, NinjaValidationError):
        return _ninja_validation(request, exc)
    if isinstance(exc, Http404):
        return problem_response(request, status=404, code="not_found", detail="Not found.")
    if isinstance(exc, AuthenticationError):
        return problem_response(
            request,
            status=401,
            code="unauthenticated",
            detail="Send a valid API key: Authorization: Bearer <key>.",
        )
    if isinstance(exc, AuthorizationError | PermissionDenied):
        return problem_response(
            request, status=403, code="scope_missing", detail=str(exc) or "Forbidden."
        )
    if isinstance(exc, Throttled):
        return problem_response(
            request,
            status=429,
            code="rate_limited",
            detail="Too many requests with this API key; retry after the Retry-After seconds.",
        )
    mapping = _mapping_for(exc)
    if mapping is not None:
        return problem_response(
            request,
            status=mapping.status,
            code=mapping.code(exc) if callable(mapping.code) else mapping.code,
            detail=_message(exc),
            field=mapping.field(exc) if mapping.field else None,
            members=mapping.members(exc) if mapping.members else None,
        )
    if isinstance(exc, DjangoValidationError):
        return _django_validation(request, exc)
    if isinstance(exc, HttpError):
        return problem_response(
            request, status=exc.status_code, code=f"http_{exc.status_code}", detail=str(exc)
        )
    logger.exception("API server error on %s %s", request.method, request.path, exc_info=exc)
    return problem_response(
        request, status=500, code="server_error", detail="Something went wrong on our side."
    )
