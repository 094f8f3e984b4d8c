#!/usr/bin/env bash
# The command-line skeleton: help, version, info, and clear errors for bad config.
. "$(dirname "$0")/lib.sh"

run --help
check "help exits 0" status_is 0
check "help lists info" contains "$OUT" "info"
run
check "no args prints help" contains "$OUT" "Usage: mdm"

run version
check "version" [ "$OUT" = "MDM version 0.1.0" ]

run frobnicate
check "unknown command exits 2" status_is 2
check "unknown command names it" contains "$ERR" "No such command 'frobnicate'"

run info
check "info exits 0" status_is 0
check "info shows home" contains "$OUT" "$MDM_HOME_DIR"
check "info shows default backend" contains "$OUT" "sqlite"
check "info shows the linked SQLite" contains "$OUT" "$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo 3.)"
check "info shows DuckDB v1.4.4" contains "$OUT" "v1.4.4"
check "info shows libpq" grep -Eq 'libpq +[0-9]+\.[0-9]+' "$WORK/out"
check "info writes nothing into home" [ ! -e "$MDM_HOME_DIR/datasets" ]

run info --format json
check "info json" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["default_backend"]=="sqlite"' "$WORK/out"
run info --format xml
check "bad format exits 2" status_is 2

# Configuration errors: one line naming what and where, exit 1, nothing created.
mkdir -p "$MDM_HOME_DIR"
printf 'database:\n  default_backend: [unclosed\n' >"$MDM_HOME_DIR/mdm.yaml"
run info
check "invalid yaml exits 1" status_is 1
check "invalid yaml names file" contains "$ERR" "Failed to load configuration from $MDM_HOME_DIR/mdm.yaml"
check "invalid yaml names line" contains "$ERR" "line "
check "invalid yaml is one line" one_line "$ERR"

printf 'database:\n  sqlite:\n    journal_mode: SIDEWAYS\n' >"$MDM_HOME_DIR/mdm.yaml"
run info
check "bad enum exits 1" status_is 1
check "bad enum names key and value" contains "$ERR" "database.sqlite.journal_mode"
check "bad enum names value" contains "$ERR" "SIDEWAYS"
check "bad enum is one line" one_line "$ERR"

printf 'database:\n  postgresql:\n    pool_size: -3\n' >"$MDM_HOME_DIR/mdm.yaml"
run info
check "negative pool size exits 1" status_is 1
check "negative pool size named" contains "$ERR" "database.postgresql.pool_size"

printf 'database:\n  default_backend: oracle\n' >"$MDM_HOME_DIR/mdm.yaml"
run info
check "unknown backend exits 1" status_is 1
check "unknown backend named" contains "$ERR" "oracle"

printf 'database:\n  sqlite:\n    journal_mod: WAL\n' >"$MDM_HOME_DIR/mdm.yaml"
run info
check "unknown key still runs" status_is 0
check "unknown key warns with suggestion" contains "$ERR" "journal_mode"

rm -f "$MDM_HOME_DIR/mdm.yaml"
MDM_PERFORMANCE_BATCH_SIZE=99 run info
check "env range error exits 1" status_is 1
check "env range error names variable" contains "$ERR" "MDM_PERFORMANCE_BATCH_SIZE"
MDM_PERFORMANCE_BATCH_SIZE=5000 run info
check "env override applies" contains "$OUT" "5000"

if [ "$(id -u)" -ne 0 ]; then
  printf 'logging:\n  level: INFO\n' >"$MDM_HOME_DIR/mdm.yaml"
  chmod 000 "$MDM_HOME_DIR/mdm.yaml"
  run info
  check "unreadable config exits 1" status_is 1
  chmod 644 "$MDM_HOME_DIR/mdm.yaml"
fi

finish
