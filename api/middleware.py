"""Idempotency-Key on every POST of the API (Stripe's contract, kept 24 hours):

- the first request with a key runs and its response is kept;
- the same key with the same method, path and body gets that response again
  (header `Idempotent-Replayed: true`), without running anything;
- the same key with another body or path: 409 `idempotency_key_reused`;
- the same key while the first is still running: 409 `idempotency_key_in_progress`.

Keys belong to an API key (two merchants' systems never collide). Responses that did
not carry the request out (401, 403, 429, 5xx) are not kept, so a retry runs.
A middleware rather than code in each handler: it sees every POST and the final
response, status and body as sent.
"""

from __future__ import annotations

import hashlib
import json

from django.http import HttpRequest, HttpResponse

from api.problems import problem_response
from api.services import (
    api_key_for_token,
    idempotency_claim,
    idempotency_finish,
    idempotency_release,
)

API_PREFIX = "/api/"
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
NOT_KEPT = {401, 403, 429}


def body_hash(body: bytes) -> str:
    """JSON bodies are compared by content (key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
        data = canonical.encode()
    except (ValueError, UnicodeDecodeError):
        data = body
    return hashlib.sha256(data).hexdigest()


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class IdempotencyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return problem_response(
                request,
                status=400,
                code="idempotency_key_invalid",
                detail=f"An Idempotency-Key has 1 to {MAX_KEY_LENGTH} characters.",
                field="header.Idempotency-Key",
            )
        token = _bearer(request)
        api_key = api_key_for_token(token) if token else None
        if api_key is None:
            return self.get_response(request)  # the API answers 401
        claim = idempotency_claim(
            api_key=api_key,
            key=key,
            method=request.method,
            path=request.path,
            body_hash=body_hash(request.body),
        )
        if claim.outcome == "replay":
            return self._replay(claim.record)
        if claim.outcome == "conflict":
            return self._conflict(request, claim.conflict)
        try:
            response = self.get_response(request)
        except BaseException:
            idempotency_release(record=claim.record)
            raise
        if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
            idempotency_release(record=claim.record)
            return response
        idempotency_finish(
            record=claim.record,
            status=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content.decode("utf-8", errors="replace"),
            location=response.get("Location", ""),
        )
        return response

    def _replay(self, record) -> HttpResponse:
        response = HttpResponse(
            record.response_body,
            status=record.response_status,
            content_type=record.response_content_type or "application/json",
        )
        if record.response_location:
            response["Location"] = record.response_location
        response["Idempotent-Replayed"] = "true"
        return response

    def _conflict(self, request, conflict: str) -> HttpResponse:
        if conflict == "reused":
            return problem_response(
                request,
                status=409,
                code="idempotency_key_reused",
                detail="This Idempotency-Key was used for another request (body or path).",
                field="header.Idempotency-Key",
            )
        return problem_response(
            request,
            status=409,
            code="idempotency_key_in_progress",
            detail="A request with this Idempotency-Key is still running; retry shortly.",
            field="header.Idempotency-Key",
        )
