#!/usr/bin/env bash
# Operation history: what the CLI records in <MDM_HOME_DIR>/metrics.db, and the
# `mdm stats` commands that read it (show, summary, dataset, cleanup, logs, dashboard).
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 shell missing"; exit 77; }
DB="$MDM_HOME_DIR/metrics.db"
# The old tool wrote ~/.mdm/metrics.db whatever the home: a HOME of our own shows it
# stays untouched.
export HOME="$WORK/user"
mkdir -p "$HOME" "$WORK/shop" "$WORK/other" "$WORK/exported" "$WORK/race"
{
  echo "id,city,price"
  for i in $(seq 1 40); do echo "$i,$([ $((i % 4)) = 0 ] && echo lyon || echo paris),$i.5"; done
} >"$WORK/shop/train.csv"
printf 'x,y\n1,2\n3,4\n5,6\n' >"$WORK/other/data.csv"
q() { sqlite3 "$DB" "$1"; }
ops_json() { "$MDM" stats show -n 0 -f json; }

run stats show
check "show without history" status_is 0
check "show without history says so" contains "$OUT" "No operations recorded."

run dataset register Shop "$WORK/shop"
check "register ok" status_is 0
check "metrics.db in MDM_HOME_DIR" test -f "$DB"
check "nothing under ~/.mdm" test ! -e "$HOME/.mdm"
check "register recorded" [ "$(q "SELECT type||'|'||dataset||'|'||rows||'|'||outcome FROM mdm_history")" = "dataset_register|shop|40|ok" ]

run dataset register other "$WORK/other"
run dataset export shop -o "$WORK/exported"
check "export ok" status_is 0
size=$(cat "$WORK"/exported/* | wc -c)
check "export recorded with the bytes written" [ "$(q "SELECT bytes FROM mdm_history WHERE type='dataset_export'")" = "$size" ]
run dataset stats shop
run dataset update shop --description "shop sales"
check "update recorded" [ "$(q "SELECT COUNT(*) FROM mdm_history WHERE type='dataset_update' AND outcome='ok'")" = 1 ]
run dataset register broken "$WORK/nowhere"
check "failing register fails" status_is 1
check "failure recorded as an error with its message" \
  [ "$(q "SELECT outcome||'|'||error FROM mdm_history WHERE dataset='broken'")" = "error|Path does not exist: $WORK/nowhere" ]
check "the command's own error is printed" contains "$ERR" "Path does not exist"
run dataset remove other --force
check "remove ok" status_is 0
check "remove recorded" [ "$(q "SELECT COUNT(*) FROM mdm_history WHERE type='dataset_remove' AND dataset='other'")" = 1 ]

# show: newest first, limits and filters.
run stats show
check "show ok" status_is 0
check "show lists the export" contains "$OUT" "dataset_export"
check "show lists the error" contains "$OUT" "error: Path does not exist"
run stats show -n 2 -f json
check "show -n 2" [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["operations"]; print(len(d), d[0]["type"], d[1]["type"])')" = "2 dataset_remove dataset_register" ]
run stats show -d SHOP -f json
check "show -d" [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sorted({o["dataset"] for o in json.load(sys.stdin)["operations"]}))')" = "['shop']" ]
run stats show -t dataset_export -f json
check "show -t" [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin)["operations"]; print(len(d), d[0]["rows"])')" = "1 40" ]
run stats show -t nonsense
check "show -t unknown type refused" status_is 2

run stats summary
check "summary ok" status_is 0
check "summary total" contains "$OUT" "Total operations:  7"
check "summary errors" contains "$OUT" "error                  1"
run stats summary -f json
check "summary json" [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], d["datasets"], d["by_type"]["dataset_register"], d["by_outcome"]["ok"])')" = "7 3 3 6" ]
run stats dataset Shop
check "stats dataset ok" status_is 0
check "stats dataset total" contains "$OUT" "Total operations:  4"
check "stats dataset lists its operations" contains "$OUT" "dataset_update"

# history.enabled false records nothing.
before=$(q "SELECT COUNT(*) FROM mdm_history")
MDM_HISTORY_ENABLED=false "$MDM" dataset stats shop >/dev/null
check "history.enabled=false records nothing" [ "$(q "SELECT COUNT(*) FROM mdm_history")" = "$before" ]

# Two processes recording at once: every operation of both is there.
"$MDM" dataset stats shop >/dev/null  # the file exists and is in WAL mode before the race
check "WAL mode" [ "$(q "PRAGMA journal_mode")" = wal ]
base=$(q "SELECT COUNT(*) FROM mdm_history")
( for i in $(seq 1 15); do "$MDM" dataset stats shop >/dev/null 2>>"$WORK/race.err"; done ) &
( for i in $(seq 1 15); do "$MDM" dataset export shop -o "$WORK/race" >/dev/null 2>>"$WORK/race.err"; done ) &
wait
check "two processes: all 30 recorded" [ "$(q "SELECT COUNT(*) FROM mdm_history") " = "$((base + 30)) " ]
no_warning() { ! grep -qi -e warning -e error "$WORK/race.err"; }
check "two processes: no warning, no error" no_warning

# Retention: operations older than history.retention_days go when a process opens the
# history; history.max_rows keeps the newest.
q "INSERT INTO mdm_history(type, dataset, started_at, duration_ms, outcome) VALUES
   ('dataset_read', 'old', (strftime('%s','now') - 100*86400) * 1000000, 1, 'ok'),
   ('dataset_read', 'recent', (strftime('%s','now') - 10*86400) * 1000000, 1, 'ok')"
"$MDM" dataset stats shop >/dev/null
check "retention removes operations older than 90 days" [ "$(q "SELECT COUNT(*) FROM mdm_history WHERE dataset='old'")" = 0 ]
check "retention keeps newer ones" [ "$(q "SELECT COUNT(*) FROM mdm_history WHERE dataset='recent'")" = 1 ]
MDM_HISTORY_RETENTION_DAYS=5 "$MDM" dataset stats shop >/dev/null
check "history.retention_days" [ "$(q "SELECT COUNT(*) FROM mdm_history WHERE dataset='recent'")" = 0 ]
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 300)
   INSERT INTO mdm_history(type, dataset, started_at, duration_ms, outcome)
   SELECT 'dataset_read', 'bulk', strftime('%s','now') * 1000000, 1, 'ok' FROM n"
MDM_HISTORY_MAX_ROWS=100 "$MDM" dataset stats shop >/dev/null
check "history.max_rows bounds the table" [ "$(q "SELECT COUNT(*) FROM mdm_history")" -le 101 ]
check "history.max_rows keeps the newest" [ "$(q "SELECT type FROM mdm_history ORDER BY id DESC LIMIT 1")" = dataset_stats ]

# cleanup: asks; refuses without a terminal; -y skips the question.
q "INSERT INTO mdm_history(type, dataset, started_at, duration_ms, outcome) VALUES
   ('dataset_read', 'month', (strftime('%s','now') - 40*86400) * 1000000, 1, 'ok')"
total=$(q "SELECT COUNT(*) FROM mdm_history")
run stats cleanup </dev/null
check "cleanup without a terminal refused" status_is 1
check "cleanup refusal says --yes" contains "$ERR" "--yes"
check "cleanup refused removes nothing" [ "$(q "SELECT COUNT(*) FROM mdm_history")" = "$total" ]
run stats cleanup -y
check "cleanup -y ok" status_is 0
check "cleanup -y removes what is older than 30 days" contains "$OUT" "Removed 1 operation(s) older than 30 days."
run stats cleanup --yes -d 0
check "cleanup -d 0 removes all" [ "$(q "SELECT COUNT(*) FROM mdm_history")" = 0 ]
run stats show
check "show after cleanup" contains "$OUT" "No operations recorded."

# logs: the mdm log file (logging.file under logs_path).
mkdir -p "$MDM_HOME_DIR/logs"
cat >"$MDM_HOME_DIR/logs/mdm.log" <<'LOG'
2026-01-01 10:00:00.000 DEBUG [1:1] opening pool sqlite:/x
2026-01-01 10:00:01.000 INFO [1:1] registered shop
2026-01-01 10:00:02.000 WARNING [1:1] pool near capacity
2026-01-01 10:00:03.000 ERROR [1:1] connect failed: refused
2026-01-01 10:00:04.000 INFO [1:1] exported shop
LOG
run stats logs
check "logs ok" status_is 0
check "logs shows every line" [ "$(printf '%s\n' "$OUT" | wc -l)" = 5 ]
run stats logs -n 2
check "logs -n" [ "$OUT" = "2026-01-01 10:00:03.000 ERROR [1:1] connect failed: refused
2026-01-01 10:00:04.000 INFO [1:1] exported shop" ]
run stats logs -l warning
check "logs -l" [ "$(printf '%s\n' "$OUT" | cut -d' ' -f3 | tr '\n' ' ')" = "WARNING ERROR " ]
run stats logs -g shop -n 1
check "logs -g" [ "$OUT" = "2026-01-01 10:00:04.000 INFO [1:1] exported shop" ]
run stats logs -l LOUD
check "logs -l unknown refused" status_is 2

# dashboard: default place and -o.
run stats dashboard
check "dashboard ok" status_is 0
check "dashboard default path" test -s "$MDM_HOME_DIR/dashboard.html"
check "dashboard snapshot embedded" grep -q 'window.MDM_SNAPSHOT={' "$MDM_HOME_DIR/dashboard.html"
run stats dashboard -o "$WORK/d.html"
check "dashboard -o" test -s "$WORK/d.html"
check "still nothing under ~/.mdm" test ! -e "$HOME/.mdm"
finish
