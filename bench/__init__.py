"""Kontor's benchmarks: `python -m bench NAME [--scale N]`.

Each run prints exactly one JSON line to stdout (progress and logs go to stderr)::

    {"name", "scale", "seconds", "baseline_seconds", "ratio", "queries", "peak_mb", ...}

- ``seconds``: wall time of the measured work only (not the data set-up).
- ``baseline_seconds``: the same work done by hand-written SQL in the same run, or
  ``null`` where none makes sense; ``ratio`` = seconds / baseline_seconds (or ``null``).
- ``queries``: SQL queries the measured work ran (counted with
  ``connection.execute_wrapper``, so DEBUG need not be on).
- ``peak_mb``: each benchmark says in its docstring how it measures it (the helpers in
  `bench.harness` offer tracemalloc's peak and the growth of the process's maxrss).
- Page benchmarks add ``median_ms`` and ``p95_ms`` per request.

Every run works in its own database (``kontor_bench`` by default, ``--db`` to choose),
created afresh on the server of ``DATABASE_URL`` and migrated before the benchmark
starts, and dropped afterwards unless ``--keep-db``. The dev and test databases are
never touched. Settings default to ``config.test_settings``; the server must be
PostgreSQL (``export DATABASE_URL=$(./scripts/test-postgres.sh)``).

Adding a benchmark
------------------
Add a module ``bench/<name>.py`` with a function ``run(scale: int) -> dict``; that is
all the registration there is (``python -m bench --list`` shows them). When ``run`` is
called Django is set up and the empty, migrated bench database is the default
connection, so the module may import models at the top. ``run`` returns at least
``seconds``, ``baseline_seconds`` and ``queries`` (and normally ``peak_mb``); the
harness adds ``name``, ``scale`` and ``ratio`` and prints the line. Extra keys are
kept. A module-level ``DEFAULT_SCALE`` overrides the default ``--scale`` (10,000).
Generate data with `bench.fixtures` (``INSERT … SELECT generate_series``, no ORM
loops) and measure with `bench.harness` (``measure``, ``count_queries``,
``tracemalloc_peak_mb``). Helper modules (no ``run``) start with ``_`` or are named in
``bench.harness.HELPER_MODULES``.
"""
