#!/usr/bin/env bash
# The local demo: SQLite (or DATABASE_URL), demo data, web server and a Django-Q2
# cluster side by side. Ctrl-C stops both. (Translations are committed compiled, so
# the demo needs no gettext; from Debian it needs only WeasyPrint's pango.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-system-packages.sh --demo
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}
PY=.venv/bin/python
ADDRESS=127.0.0.1:8000

$PY manage.py migrate --no-input -v0
$PY manage.py seed_demo
$PY manage.py sync_schedules

# At least two task workers (a billing chunk or a PDF must not hold up mail and
# callbacks); the system check kontor.E001 refuses fewer, and qcluster runs it.
export KONTOR_Q_WORKERS=${KONTOR_Q_WORKERS:-2}

QPID="" WPID=""
stop() {
  trap - EXIT INT TERM
  [ -n "$QPID$WPID" ] && kill -TERM $QPID $WPID 2>/dev/null
  wait 2>/dev/null
  echo
  echo "Kontor demo stopped."
}
trap stop EXIT
trap 'exit 130' INT TERM

$PY manage.py qcluster &
QPID=$!
$PY manage.py runserver "$ADDRESS" --noreload &
WPID=$!

# Wait for the web server to answer before saying it runs.
for _ in $(seq 60); do
  if ! kill -0 "$WPID" 2>/dev/null; then
    echo "The web server did not start (is $ADDRESS already in use?)." >&2
    exit 1
  fi
  $PY - "$ADDRESS" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}/admin/login/", timeout=1)
except Exception:
    sys.exit(1)
PY
  sleep 0.5
done

cat <<MSG

  Kontor demo is running (Ctrl-C stops the web server and the task cluster).

  Merchant backend  http://$ADDRESS/admin/
  Customer portal   http://$ADDRESS/portal/

  Demo logins (password for all: kontor-demo)
    admin@kontor.example      Administrator (superuser), with two-factor login:
                              code: .venv/bin/python manage.py otp_demo_code
    catalog@kontor.example    Catalog manager
    support@kontor.example    Customer support
    finance@kontor.example    Finance
    reader@kontor.example     Customer (portal)

MSG
wait "$WPID"
