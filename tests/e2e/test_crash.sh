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
# The replacement for --force: other rows, so that old and new tell apart.
ROWS2=120000
FILE2="$WORK/crashy2.csv"
python3 - "$FILE2" "$ROWS2" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("id,value,label,day\n")
    for i in range(rows):
        f.write(f"{i},{i * 0.5},new_{i % 13},2022-{i % 12 + 1:02d}-{i % 28 + 1:02d}\n")
PY

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
# Exactly the rows of one of the two files: prints "old" or "new".
which_exact() {
  "$MDM" dataset stats crashy --full --format json >"$WORK/stats.json" 2>"$WORK/err" || return 1
  python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
t = d['tables']['data']
c = t['columns']['id']
for tag, rows in (('old', $ROWS), ('new', $ROWS2)):
    if t['row_count'] == rows and c['count'] == rows and c['mean'] == (rows - 1) / 2:
        print(tag); sys.exit(0)
sys.exit(1)
" "$WORK/stats.json" 2>/dev/null
}
no_trash() { ! ls -a "$MDM_HOME_DIR/datasets" 2>/dev/null | grep -q '^\.trash-'; }
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

  # register --force killed at random moments: the dataset is always there, listed and
  # readable afterwards, with either the old rows or the new ones, whole. Each round
  # replaces what is there with the other file.
  run dataset register crashy "$FILE"
  check "$backend --force: the first registration completes" status_is 0
  start=$(date +%s%N)
  run dataset register crashy "$FILE2" --force
  check "$backend --force: a replacement completes" status_is 0
  duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  current=new replaced=0 kept=0
  for k in $(seq 1 "$KILLS"); do
    if [ "$current" = new ]; then next_file=$FILE next=old; else next_file=$FILE2 next=new; fi
    delay_ms=$(( RANDOM % (duration_ms * 13 / 10 + 1) ))
    "$MDM" dataset register crashy "$next_file" --force >/dev/null 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    run dataset list --format json
    check "$backend --force kill $k (${delay_ms} ms): the dataset is listed" contains "$OUT" '"name": "crashy"'
    got=$(which_exact)
    STATUS=$?
    check "$backend --force kill $k (${delay_ms} ms): readable, old or new rows, whole" status_is 0
    if [ "$got" = "$next" ]; then replaced=$((replaced + 1)); current=$next; else kept=$((kept + 1)); fi
    check "$backend --force kill $k: no trash left once read" no_trash
  done
  run dataset register crashy "$FILE" --force
  check "$backend --force: a replacement after the kills works" status_is 0
  check "$backend --force: no staging left" no_staging
  check "$backend --force: no trash left" no_trash
  run dataset remove crashy --force
  echo "$backend --force: $KILLS kills over ${duration_ms} ms replacements: $replaced replaced, $kept kept" >&2
done
finish
