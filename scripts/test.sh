#!/usr/bin/env bash
# `make test`: system packages, a PostgreSQL (DATABASE_URL, or a throwaway cluster),
# compiled translations, then pytest with any arguments given.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-packages.sh
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(./scripts/test-postgres.sh)  # set -e: a cluster that fails to start stops here
fi
export DATABASE_URL DJANGO_SETTINGS_MODULE=config.test_settings
.venv/bin/python manage.py compilemessages --ignore=.venv -v0
exec .venv/bin/pytest "$@"
