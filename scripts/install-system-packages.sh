#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests), gettext (translations),
# poppler-utils (PDF to PNG), and WeasyPrint's pango. Installs only what is missing.
# `--demo`: only what `make demo` needs (WeasyPrint's pango, for invoice PDFs).
set -euo pipefail
missing=()
if [ "${1:-}" != "--demo" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v msgfmt >/dev/null || missing+=(gettext)
  command -v pdftoppm >/dev/null || missing+=(poppler-utils)
fi
# (grep reads all of ldconfig's output: `ldconfig | grep -q` fails under pipefail.)
grep -q libpango-1.0 <(ldconfig -p) || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "Please install: ${missing[*]}" >&2; exit 1; fi
  echo "Installing ${missing[*]} (apt-get) ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
