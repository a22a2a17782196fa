"""Real concurrency for tests of limits that could be raced: every call in its own
thread (and so its own database connection), released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connection


def race(
    calls: Sequence[Callable[[], object]],
    outcome_of: Callable[[Exception], str | None],
) -> list[str]:
    """Run `calls` at the same moment; what each ended with: "ok", or `outcome_of(error)`
    for an exception it names (a refusal). Any other exception fails the test, since a
    thread that died of it would otherwise only be missing from the outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=30)
            call()
            outcome = "ok"
        except Exception as error:
            outcome = outcome_of(error)
            if outcome is None:
                with lock:
                    errors.append(error)
                return
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return outcomes
