#!/usr/bin/env bash
# Crash test: `mdm dataset register` killed with SIGKILL at random moments, 20 times per
# backend. After each kill the catalog must be consistent: either the dataset exists
# and its data is exact, or it does not exist and the next registration of the name
# works without --force. Nothing may be left half-written.
. "$(dirname "$0")/lib.sh"
ROWS=200000
KILLS=${MDM_CRASH_KILLS:-20}
FILE="$WORK/crashy.csv"
python3 - "$FILE" "$ROWS" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("id,value,label,day\n")
    for i in range(rows):
        f.write(f"{i},{i * 0.25},label_{i % 97},2021-{i % 12 + 1:02d}-{i % 28 + 1:02d}\n")
PY
EXPECTED_MEAN=$(python3 -c "print(($ROWS - 1) / 2)")

# The data must be exact: every row there, and the ids sum to what was written.
exact() {
  run dataset stats crashy --full --format json
  python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
t = d['tables']['data']
assert t['row_count'] == $ROWS, t['row_count']
c = t['columns']['id']
assert c['count'] == $ROWS and c['mean'] == $EXPECTED_MEAN, (c['count'], c['mean'])
" "$WORK/out" 2>/dev/null
}
no_staging() { ! ls -a "$MDM_HOME_DIR/datasets" 2>/dev/null | grep -q '^\.staging-'; }

backends="sqlite duckdb"
[ -n "${MDM_TEST_PG_CONNINFO:-}" ] && backends="$backends postgresql"
if [ -n "${MDM_TEST_PG_CONNINFO:-}" ]; then
  export MDM_DATABASE_POSTGRESQL_HOST=$MDM_TEST_PG_HOST MDM_DATABASE_POSTGRESQL_PORT=$MDM_TEST_PG_PORT
  export MDM_DATABASE_POSTGRESQL_USER=$MDM_TEST_PG_USER MDM_DATABASE_POSTGRESQL_PASSWORD=$MDM_TEST_PG_PASSWORD
  export MDM_DATABASE_POSTGRESQL_DATABASE=$MDM_TEST_PG_DATABASE
  export MDM_DATABASE_POSTGRESQL_DATABASE_PREFIX="crash$$_"
fi

for backend in $backends; do
  export MDM_DATABASE_DEFAULT_BACKEND=$backend
  # How long a whole registration takes here: kills land anywhere within it.
  start=$(date +%s%N)
  run dataset register crashy "$FILE"
  check "$backend: a registration completes" status_is 0
  duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  run dataset remove crashy --force
  committed=0 absent=0
  for k in $(seq 1 "$KILLS"); do
    delay_ms=$(( RANDOM % (duration_ms * 11 / 10 + 1) ))
    "$MDM" dataset register crashy "$FILE" >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ -e "$MDM_HOME_DIR/config/datasets/crashy.yaml" ]; then
      committed=$((committed + 1))
      check "$backend kill $k (${delay_ms} ms): committed dataset is exact" exact
    else
      absent=$((absent + 1))
      run dataset info crashy
      check "$backend kill $k (${delay_ms} ms): uncommitted dataset does not exist" status_is 1
      run dataset register crashy "$FILE"
      check "$backend kill $k: the next registration works without --force" status_is 0
      check "$backend kill $k: and is exact" exact
    fi
    check "$backend kill $k: no staging left" no_staging
    run dataset remove crashy --force
    check "$backend kill $k: removed" status_is 0
  done
  echo "$backend: $KILLS kills over ${duration_ms} ms registrations: $committed committed, $absent not" >&2
done
finish
