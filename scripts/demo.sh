#!/usr/bin/env bash
# The local demo: SQLite (or DATABASE_URL), demo data, web server and a Django-Q2
# cluster side by side. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
PY=.venv/bin/python

$PY manage.py compilemessages --ignore=.venv -v0
$PY manage.py migrate --no-input -v0
$PY manage.py seed_demo
$PY manage.py sync_schedules

$PY manage.py qcluster &
QPID=$!
$PY manage.py runserver 127.0.0.1:8000 --noreload &
WPID=$!
trap 'kill -TERM $QPID $WPID 2>/dev/null; wait $QPID $WPID 2>/dev/null; echo; echo "Kontor demo stopped."' INT TERM EXIT

cat <<MSG

  Kontor demo is running (Ctrl-C stops the web server and the task cluster).

  Merchant backend  http://127.0.0.1:8000/admin/
  Customer portal   http://127.0.0.1:8000/portal/

  Demo logins (password for all: kontor-demo)
    admin@kontor.example      Administrator (superuser)
    catalog@kontor.example    Catalog manager
    support@kontor.example    Customer support
    finance@kontor.example    Finance
    reader@kontor.example     Customer (portal)

MSG
wait $WPID
