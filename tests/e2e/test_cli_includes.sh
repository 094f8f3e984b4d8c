#!/usr/bin/env bash
# The command line is a front end like any other: it may include only the public
# headers (mdm/mdm.h, mdm/dataset.h), jansson, the C library and its own src/cli/
# headers (and `mdm serve` the server's entry point, server/server.h, itself a front end
# on the public headers). A quoted include of anything else from src/ fails this test.
. "$(dirname "$0")/lib.sh"
CLI="$(cd "$(dirname "$0")/../../src/cli" && pwd)"

bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$CLI"/*.c "$CLI"/*.h |
  grep -v -E '#[[:space:]]*include[[:space:]]*"(cli/[a-z_]+\.h|mdm/(mdm|dataset)\.h|server/server\.h)"')
STATUS=0
[ -z "$bad" ] || { STATUS=1; echo "$bad" >"$WORK/out"; }
check "src/cli includes only public headers and its own" status_is 0

bad=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$CLI"/*.c "$CLI"/*.h |
  grep -E '<(mdm/sys/|core/|dataset/|io/|storage/)')
STATUS=0
[ -z "$bad" ] || { STATUS=1; echo "$bad" >"$WORK/out"; }
check "src/cli includes no private header through <>" status_is 0

# The check itself can fail: a private include is caught.
mkdir -p "$WORK/cli"
printf '#include "cli/cli.h"\n#include "dataset/catalog.h"\n' >"$WORK/cli/x.c"
caught=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$WORK/cli/x.c" |
  grep -v -E '#[[:space:]]*include[[:space:]]*"(cli/[a-z_]+\.h|mdm/(mdm|dataset)\.h)"')
STATUS=0
[ -n "$caught" ] || STATUS=1
check "a private include would be caught" status_is 0
finish
