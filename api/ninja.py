"""The NinjaAPI of Kontor's integration API: problem+json for every error, bearer keys,
the per-key rate limit, and an OpenAPI schema that documents what every operation can
answer (the problem responses, Idempotency-Key on POSTs, Retry-After on 429).
`config/api.py` builds it and mounts the domain apps' routers."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from api.auth import KeyRateThrottle
from api.problems import CONTENT_TYPE, handle_exception
from api.schemas import Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_STATUSES = {
    "400": "Bad request (an invalid cursor or Idempotency-Key).",
    "401": "No valid API key.",
    "403": "The API key lacks the scope this operation needs.",
    "404": "No such object.",
    "409": "The request conflicts with the object's state (or an Idempotency-Key).",
    "422": "The request is not valid; `field` names the part at fault.",
    "429": "Too many requests with this API key; see Retry-After.",
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: the same key and body answer the first response "
    "again; another body with the same key is 409. Kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]+$"},
}


class KontorAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("throttle", [KeyRateThrottle()])
        super().__init__(**kwargs)
        self._exception_handlers.clear()
        self.add_exception_handler(Exception, handle_exception)

    def get_openapi_schema(self, *args: Any, **kwargs: Any):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    _document_operation(method, operation)
        return schema


def _document_operation(method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status in [key for key in responses if not isinstance(key, str)]:
        # ninja keys its own responses by int; openapi_extra's (str) take precedence.
        value = responses.pop(status)
        responses.setdefault(str(status), value)
    responses.pop("422", None) if "422" in responses and _is_ninja_422(responses) else None
    for status, description in PROBLEM_STATUSES.items():
        if status in responses:
            continue
        responses[status] = {
            "description": description,
            "content": {CONTENT_TYPE: {"schema": PROBLEM_REF}},
        }
    responses["429"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    }
    if method == "post":
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(dict(IDEMPOTENCY_HEADER))


def _is_ninja_422(responses: dict) -> bool:
    content = responses["422"].get("content", {})
    return CONTENT_TYPE not in content
