#!/usr/bin/env bash
# The dashboard in a real browser: a home with two datasets and some history, the
# page written by `mdm stats dashboard -o`, loaded from file:// by headless Chromium
# (chromium + chromium-driver + python3-selenium from Debian, see scripts/setup).
# Usage: run.sh path/to/mdm ARTIFACT_DIR. Exit 77 (skip) without a browser unless
# MDM_REQUIRE_BROWSER=1.
set -u
MDM=${1:?usage: run.sh path/to/mdm ARTIFACT_DIR}
ARTIFACTS=${2:?usage: run.sh path/to/mdm ARTIFACT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
"$PY" -c 'import selenium' >/dev/null 2>&1 || missing="$missing python3-selenium"
if [ -n "$missing" ]; then
  if [ "${MDM_REQUIRE_BROWSER:-0}" = 1 ]; then
    echo "FAIL: missing$missing (scripts/setup installs them)" >&2
    exit 1
  fi
  echo "skip: missing$missing" >&2
  exit 77
fi

WORK=$(mktemp -d /tmp/mdm-dashboard-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for v in $(env | grep -o "^MDM_[A-Z_]*"); do unset "$v"; done  # MDM_REQUIRE_BROWSER was read above
export MDM_HOME_DIR="$WORK/home"
mkdir -p "$WORK/shop" "$WORK/other" "$ARTIFACTS"

# shop: 200 rows, city is paris 100 times, lyon 60, nice 40.
{
  echo "id,city,age,price,sold"
  for i in $(seq 0 199); do
    case $((i % 10)) in 0|1|2|3|4) c=paris ;; 5|6|7) c=lyon ;; *) c=nice ;; esac
    echo "$i,$c,$((18 + i % 60)),$((i * 3 % 97)).5,$((i % 2))"
  done
} >"$WORK/shop/train.csv"
{
  echo "x,label"
  for i in $(seq 1 50); do echo "$i.25,$([ $((i % 3)) = 0 ] && echo b || echo a)"; done
} >"$WORK/other/data.csv"

set -e
"$MDM" dataset register shop "$WORK/shop" --target sold --tags 'retail,<b>bold</b>' \
  --description 'Shop <script>alert(1)</script> sales' >/dev/null
"$MDM" dataset register other "$WORK/other" >/dev/null
"$MDM" dataset export shop -o "$WORK/out" >/dev/null 2>&1
"$MDM" dataset stats other >/dev/null
set +e
"$MDM" dataset register broken "$WORK/nowhere" >/dev/null 2>&1
set -e
"$MDM" stats dashboard -o "$WORK/dashboard.html" >/dev/null
cp "$WORK/dashboard.html" "$ARTIFACTS/dashboard-snapshot.html"

exec "$PY" "$HERE/test_dashboard.py" "$WORK/dashboard.html" "$ARTIFACTS"
