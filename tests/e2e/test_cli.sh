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

# Connecting: the default backend through a pool, and a clear line when it fails.
run info --check
check "check sqlite exits 0" status_is 0
check "check sqlite connects" contains "$OUT" "sqlite: connected"
check "check leaves home alone" [ ! -e "$MDM_HOME_DIR/datasets" ]
MDM_DATABASE_DEFAULT_BACKEND=duckdb run info --check --format json
check "check duckdb" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["backend"]=="duckdb" and d["size"]==1' "$WORK/out"
MDM_DATABASE_DEFAULT_BACKEND=postgresql MDM_DATABASE_POSTGRESQL_USER=nobody \
  MDM_DATABASE_POSTGRESQL_HOST=127.0.0.1 MDM_DATABASE_POSTGRESQL_PORT=1 run info --check
check "unreachable postgres exits 1" status_is 1
check "unreachable postgres is one line" one_line "$ERR"
check "unreachable postgres names the server" contains "$ERR" "127.0.0.1:1"
check "unreachable postgres says why" contains "$ERR" "refused"
MDM_DATABASE_DEFAULT_BACKEND=postgresql run info --check
check "postgres without a user exits 1" status_is 1
check "postgres without a user says so" contains "$ERR" "PostgreSQL user not configured"
if [ -n "${MDM_TEST_PG_CONNINFO:-}" ]; then
  MDM_DATABASE_DEFAULT_BACKEND=postgresql MDM_DATABASE_POSTGRESQL_HOST=$MDM_TEST_PG_HOST \
    MDM_DATABASE_POSTGRESQL_PORT=$MDM_TEST_PG_PORT MDM_DATABASE_POSTGRESQL_USER=$MDM_TEST_PG_USER \
    MDM_DATABASE_POSTGRESQL_PASSWORD=$MDM_TEST_PG_PASSWORD \
    MDM_DATABASE_POSTGRESQL_DATABASE=$MDM_TEST_PG_DATABASE run info --check
  check "postgres check connects" contains "$OUT" "postgresql: connected"
  check "postgres check never shows the password" bash -c "! grep -qF -- '$MDM_TEST_PG_PASSWORD' '$WORK/out' '$WORK/err'"
  MDM_DATABASE_DEFAULT_BACKEND=postgresql MDM_DATABASE_POSTGRESQL_HOST=$MDM_TEST_PG_HOST \
    MDM_DATABASE_POSTGRESQL_PORT=$MDM_TEST_PG_PORT MDM_DATABASE_POSTGRESQL_USER=$MDM_TEST_PG_USER \
    MDM_DATABASE_POSTGRESQL_PASSWORD=wrong-secret \
    MDM_DATABASE_POSTGRESQL_DATABASE=$MDM_TEST_PG_DATABASE run info --check
  check "wrong password exits 1" status_is 1
  check "wrong password says so" contains "$ERR" "password authentication failed"
  check "wrong password is not echoed" bash -c "! grep -qF wrong-secret '$WORK/err'"
fi

run --stats info --check
check "--stats prints the pool's figures" contains "$ERR" "checkouts, 1 connections opened"

# mdm config: show, get, set (validated, comments kept, atomic).
rm -f "$MDM_HOME_DIR/mdm.yaml"
run config get database.default_backend
check "config get default" [ "$OUT" = "sqlite" ]
run config get database.sqlite.journal_mod
check "config get unknown exits 1" status_is 1
check "config get unknown suggests" contains "$ERR" "database.sqlite.journal_mode"
printf '# team settings\ndatabase:\n  default_backend: duckdb  # fast scans\n' >"$MDM_HOME_DIR/mdm.yaml"
run config set database.sqlite.journal_mode delete
check "config set exits 0" status_is 0
run config get database.sqlite.journal_mode
check "config set took effect (canonical form)" [ "$OUT" = "DELETE" ]
check "config set keeps comments" grep -q "# team settings" "$MDM_HOME_DIR/mdm.yaml"
check "config set keeps trailing comments" grep -q "default_backend: duckdb  # fast scans" "$MDM_HOME_DIR/mdm.yaml"
cp "$MDM_HOME_DIR/mdm.yaml" "$WORK/before.yaml"
run config set database.sqlite.journal_mode SIDEWAYS
check "config set bad value exits 1" status_is 1
check "config set bad value names it" contains "$ERR" "SIDEWAYS"
check "config set bad value leaves the file alone" cmp -s "$MDM_HOME_DIR/mdm.yaml" "$WORK/before.yaml"
run config set feature_engineering.generic.binning.n_bins 3,7
run config get feature_engineering.generic.binning.n_bins
check "config set list" [ "$OUT" = "3,7" ]
run config show --format json
check "config show json has sources" python3 -c 'import json,sys; d={r["key"]:r for r in json.load(open(sys.argv[1]))}; assert d["database.default_backend"]["source"].startswith("mdm.yaml line"); assert d["database.postgresql.password"]["value"]=="null"' "$WORK/out"
MDM_DATABASE_POSTGRESQL_PASSWORD=hunter2 run config show
check "config show masks secrets" bash -c "! grep -q hunter2 '$WORK/out'"
rm -f "$MDM_HOME_DIR/mdm.yaml"

if [ "$(id -u)" -ne 0 ]; then
  printf 'logging:\n  level: INFO\n' >"$MDM_HOME_DIR/mdm.yaml"
  chmod 000 "$MDM_HOME_DIR/mdm.yaml"
  run info
  check "unreadable config exits 1" status_is 1
  chmod 644 "$MDM_HOME_DIR/mdm.yaml"
fi


# Issue #9: hardening of the dataset commands, each on a home of its own.
printf 'id,x,y\n1,2,3\n2,3,4\n3,4,5\n' >"$WORK/small.csv"
(
  umask 022
  export MDM_HOME_DIR="$WORK/fresh/home"
  run dataset register first "$WORK/small.csv" --target y
  check "register on a fresh home exits 0" status_is 0
  check "a fresh home is created 0700" [ "$(stat -c %a "$WORK/fresh/home")" = 700 ]
  check "its subdirectories stay 0755" [ "$(stat -c %a "$WORK/fresh/home/datasets")" = 755 ]
  printf 'name: first\ntables: {{{\n' >"$WORK/fresh/home/config/datasets/first.yaml"
  run dataset remove first --force
  check "a corrupt registry file can be removed" status_is 0
  check "its YAML is gone" [ ! -e "$WORK/fresh/home/config/datasets/first.yaml" ]
  check "its directory is gone" [ ! -e "$WORK/fresh/home/datasets/first" ]
  check "server storage left in place is named" contains "$ERR" "schema 'mdm_first'"
  run dataset register gone "$WORK/small.csv" --target y
  rm "$WORK/fresh/home/datasets/gone/gone.sqlite"
  run dataset export gone --output-dir "$WORK/gone-export"
  check "export of a dataset whose file is gone fails" status_is 1
  check "it names the missing file" contains "$ERR" "database file missing: $WORK/fresh/home/datasets/gone/gone.sqlite"
  run dataset stats gone
  check "stats of it fails too" status_is 1
  check "no empty database file was created" [ ! -e "$WORK/fresh/home/datasets/gone/gone.sqlite" ]
  esc=$(printf '\033')
  no_raw_esc() { ! grep -q "$esc" "$WORK/out"; }
  cp "$WORK/small.csv" "$WORK/evil${esc}[1m.csv"
  run dataset register evil "$WORK/evil${esc}[1m.csv" --target y --description "red $esc[31mtext" --tags "a${esc}[2Jb"
  check "register with escapes in text exits 0" status_is 0
  # Column names with control characters are refused at registration; a registry file
  # written by hand or by another tool can still hold one.
  sed -i 's/^    - name: x$/    - name: "evil\\e]0;pwned\\a"/' "$WORK/fresh/home/config/datasets/evil.yaml"
  run dataset info evil --details
  check "info escapes ESC in the description" contains "$OUT" 'red \x1b[31mtext'
  check "info escapes ESC in tags" contains "$OUT" 'a\x1b[2Jb'
  check "info escapes BEL in column names" contains "$OUT" 'evil\x1b]0;pwned\x07'
  check "info escapes ESC in file names" contains "$OUT" 'evil\x1b[1m.csv'
  check "info sends no raw ESC" no_raw_esc
  run dataset list
  check "list sends no raw ESC" no_raw_esc
  run dataset search red
  check "search escapes the description" contains "$OUT" 'red \x1b[31mtext'
  check "search sends no raw ESC" no_raw_esc
  run dataset info evil --format json
  check "json keeps the text (escaped by JSON)" contains "$OUT" 'red \u001B[31mtext'
  mkdir "$WORK/linked"
  cp "$WORK/small.csv" "$WORK/linked/test.csv"
  ln -s /etc/passwd "$WORK/linked/train.csv"
  run dataset register linked "$WORK/linked"
  check "a directory with an outside link registers the rest" status_is 0
  check "the outside link is named" contains "$ERR" "Skipping $WORK/linked/train.csv: a symbolic link to /etc/passwd, outside $WORK/linked"
  run dataset info linked
  check "only the test table was loaded" bash -c "grep -q 'test ' '$WORK/out' && ! grep -q 'train ' '$WORK/out'"
  [ "$FAILED" -eq 0 ]
) || FAILED=$((FAILED + 1))

finish
