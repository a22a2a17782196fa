"""Cursor pagination: `?limit=50&cursor=…` and `{"items": [...], "next_cursor": …}`.

Lists are ordered newest first by the row's key, and the cursor names the last row
returned (signed, so it is opaque and cannot be forged into another query). A keyset
page costs the same at any depth, and rows added meanwhile never shift a page."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import QuerySet
from ninja import Query, Schema
from pydantic import Field, create_model

from api.problems import Problem

SALT = "kontor.api.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(Schema):
    cursor: str | None = Field(
        None, max_length=200, description="The `next_cursor` of the previous page."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")


def _decode(cursor: str) -> int:
    try:
        value = signing.loads(cursor, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise Problem(
            400, "invalid_cursor", "This cursor is not valid.", field="query.cursor"
        ) from None
    if not isinstance(value, int):
        raise Problem(400, "invalid_cursor", "This cursor is not valid.", field="query.cursor")
    return value


def cursor_page(queryset: QuerySet, params: PageParams) -> tuple[list[Any], str | None]:
    """One page of `queryset` (newest first by primary key) and the next cursor."""
    rows = queryset.order_by("-pk")
    if params.cursor:
        rows = rows.filter(pk__lt=_decode(params.cursor))
    items = list(rows[: params.limit + 1])
    more = len(items) > params.limit
    items = items[: params.limit]
    next_cursor = signing.dumps(items[-1].pk, salt=SALT) if more and items else None
    return items, next_cursor


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The response schema of a list of `item`."""
    return create_model(
        name,
        __base__=Schema,
        items=(list[item], ...),
        next_cursor=(str | None, Field(None, description="Pass as `cursor` for the next page.")),
    )


__all__ = ["PageParams", "Query", "cursor_page", "page_of"]
