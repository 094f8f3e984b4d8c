#!/usr/bin/env bash
# mdm dataset verify and mdm dataset query, end to end: a table changed behind mdm's
# back (sqlite3 CLI; psql when scripts/test-postgres provides a server) fails
# verification naming the column, the row count difference, or the moved values; a
# dataset without recorded checksums gets them; query refuses writes and bad SQL with
# the API's message, gives column names for an empty result, and streams many rows.
. "$(dirname "$0")/lib.sh"

ROWS=5000
{
  echo "id,score,label"
  for i in $(seq 1 $ROWS); do echo "$i,$((i * 3)).5,l$((i % 3))"; done
} >"$WORK/data.csv"

# verify_cases BACKEND NAME SQL-RUNNER: the four changes on one backend.
verify_cases() {
  local backend=$1 prefix=$2 exec_sql=$3
  run dataset register "${prefix}ok" "$WORK/data.csv" --backend "$backend"
  check "$backend: registered" status_is 0
  run dataset verify "${prefix}ok"
  check "$backend: untouched verifies" status_is 0
  check "$backend: says verified" contains "$OUT" "data: verified ($ROWS rows)"

  run dataset register "${prefix}chg" "$WORK/data.csv" --backend "$backend"
  $exec_sql "${prefix}chg" "UPDATE data SET score = 1.25 WHERE id = 10"
  run dataset verify "${prefix}chg"
  check "$backend: changed value fails" status_is 1
  check "$backend: names the column" contains "$OUT" "columns differ: score"

  run dataset register "${prefix}del" "$WORK/data.csv" --backend "$backend"
  $exec_sql "${prefix}del" "DELETE FROM data WHERE id = 77"
  run dataset verify "${prefix}del"
  check "$backend: deleted row fails" status_is 1
  check "$backend: says the row count" contains "$OUT" "rows $((ROWS - 1)), recorded $ROWS (-1)"

  run dataset register "${prefix}add" "$WORK/data.csv" --backend "$backend"
  $exec_sql "${prefix}add" "INSERT INTO data SELECT * FROM data WHERE id = 5"
  run dataset verify "${prefix}add" --format json
  check "$backend: added row fails" status_is 1
  check "$backend: json says the rows" contains "$OUT" "\"actual_rows\": $((ROWS + 1))"

  run dataset register "${prefix}swp" "$WORK/data.csv" --backend "$backend"
  $exec_sql "${prefix}swp" "UPDATE data SET label = CASE WHEN id = 1 THEN 'l2' ELSE 'l1' END WHERE id IN (1, 2)"
  run dataset verify "${prefix}swp"
  check "$backend: swapped pair fails" status_is 1
  check "$backend: says values moved" contains "$OUT" "values moved between rows"
}

sqlite_exec() { sqlite3 "$MDM_HOME_DIR/datasets/$1/$1.sqlite" "$2"; }
if command -v sqlite3 >/dev/null; then
  verify_cases sqlite s_ sqlite_exec
else
  echo "sqlite3 CLI missing: SQLite tampering not tested" >&2
fi

if [ -n "${MDM_TEST_PG_CONNINFO:-}" ] && command -v psql >/dev/null; then
  export MDM_DATABASE_POSTGRESQL_HOST=$MDM_TEST_PG_HOST MDM_DATABASE_POSTGRESQL_PORT=$MDM_TEST_PG_PORT \
    MDM_DATABASE_POSTGRESQL_USER=$MDM_TEST_PG_USER MDM_DATABASE_POSTGRESQL_PASSWORD=$MDM_TEST_PG_PASSWORD \
    MDM_DATABASE_POSTGRESQL_DATABASE=$MDM_TEST_PG_DATABASE \
    MDM_DATABASE_POSTGRESQL_DATABASE_PREFIX="e2ev$$_"
  pg_exec() {
    PGPASSWORD=$MDM_TEST_PG_PASSWORD psql -q -v ON_ERROR_STOP=1 "$MDM_TEST_PG_CONNINFO" \
      -c "SET search_path TO e2ev$$_$1; $2" >/dev/null
  }
  verify_cases postgresql p_ pg_exec
  for n in ok chg del add swp; do "$MDM" dataset remove "p_$n" --force >/dev/null 2>&1; done
elif [ "${MDM_REQUIRE_POSTGRES:-}" = 1 ]; then
  check "PostgreSQL server provided" false
fi

# A dataset registered before checksums: the first verify records them.
run dataset register old "$WORK/data.csv" --backend duckdb
sed -i '/^  checksums:/,$d' "$MDM_HOME_DIR/config/datasets/old.yaml"
run dataset verify old
check "old dataset: exit 0" status_is 0
check "old dataset: recorded now" contains "$OUT" "no checksums were recorded; recorded them now"
run dataset verify old --table data
check "old dataset: then verified" contains "$OUT" "old.data: verified"
run dataset verify old --table nope
check "unknown table: exit 1" status_is 1
check "unknown table: named" contains "$ERR" "nope"

# Query.
run dataset query old "SELECT id, label FROM data WHERE id > 999999" --format csv
check "empty csv: exit 0" status_is 0
check "empty csv: header only" [ "$OUT" = "id,label" ]
run dataset query old "SELECT id, label FROM data WHERE id > 999999" --format json
check "empty json: columns" contains "$OUT" '{"name":"label","type":"text"}'
check "empty json: no rows" contains "$OUT" '"row_count": 0'
run dataset query old "SELECT id, label FROM data WHERE id < 0"
check "empty rich: header" contains "$OUT" "id  label"
run dataset query old "DELETE FROM data"
check "write refused: exit 1" status_is 1
check "write refused: says why" contains "$ERR" "read-only"
run dataset query old "SELEC 1"
check "syntax error: exit 1" status_is 1
check "syntax error: engine message" contains "$ERR" "syntax"
run dataset query old "SELECT * FROM data ORDER BY id" --format csv -o "$WORK/all.csv"
check "many rows: exit 0" status_is 0
check "many rows: all written" [ "$(wc -l <"$WORK/all.csv")" -eq $((ROWS + 1)) ]
check "many rows: same as the source" cmp -s "$WORK/all.csv" "$WORK/data.csv"
run dataset query old "SELECT * FROM data ORDER BY id" --format json --limit 3
check "limit: three rows" contains "$OUT" '"row_count": 3'
run dataset query old "SELECT id, score FROM data" --format csv --limit 0
check "limit 0: the header alone" [ "$OUT" = "id,score" ]
run dataset query old "SELECT 1" --format xml
check "bad format: usage error" status_is 2

finish
