"""Throttling wrong guesses of codes, per client address or customer account.

After `MAX_FAILURES` unknown codes within `WINDOW` from one key, every check from that
key is refused until the window (which starts at the first failure) is over. The count
lives in Django's cache: it is advisory, losing it only gives a guesser a fresh window,
and it needs a cache shared by the web workers (the Redis of the task queue, say) to
count across them; with the default per-process cache each worker counts on its own.
The key is hashed, so addresses and ids never appear in the cache as they are.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import ngettext

from coupons.exceptions import CouponRefused

MAX_FAILURES = 10
WINDOW = 15 * 60  # seconds


def _keys(key: str) -> tuple[str, str]:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"coupons:guesses:{digest}", f"coupons:guesses-until:{digest}"


def guess_throttle_check(key: str, *, now: datetime | None = None) -> None:
    """Raise CouponRefused(reason="throttled") while `key` has too many wrong guesses."""
    count_key, until_key = _keys(key)
    values = cache.get_many([count_key, until_key])
    until = values.get(until_key)
    now_ts = (now or timezone.now()).timestamp()
    if until is None or until <= now_ts or values.get(count_key, 0) < MAX_FAILURES:
        return
    minutes = max(1, math.ceil((until - now_ts) / 60))
    message = ngettext(
        "Too many invalid codes. Try again in %(minutes)d minute.",
        "Too many invalid codes. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    raise CouponRefused(message, reason="throttled")


def guess_record_failure(key: str, *, now: datetime | None = None) -> int:
    """Count one wrong guess for `key`; the number within the current window."""
    count_key, until_key = _keys(key)
    now_ts = (now or timezone.now()).timestamp()
    until = cache.get(until_key)
    if until is None or until <= now_ts:
        cache.set_many({count_key: 0, until_key: now_ts + WINDOW}, timeout=WINDOW)
    try:
        return cache.incr(count_key)
    except ValueError:  # evicted between the two calls
        cache.set(count_key, 1, timeout=WINDOW)
        return 1
