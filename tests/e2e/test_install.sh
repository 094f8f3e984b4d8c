#!/usr/bin/env bash
# `cmake --install` puts the binary, libraries (libmdm_duckdb and libduckdb beside
# libmdm), headers and mdm.pc in a prefix; the installed mdm runs without
# LD_LIBRARY_PATH, and a program
# built with `pkg-config mdm` links and runs.
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$MDM")" && pwd)
PREFIX="$WORK/prefix"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log" 2>&1
STATUS=$?
check "cmake --install succeeds" status_is 0
check "binary installed" [ -x "$PREFIX/bin/mdm" ]
check "header installed" [ -f "$PREFIX/include/mdm/mdm.h" ]
check "backend header installed" [ -f "$PREFIX/include/mdm/sys/backend.h" ]
check "libduckdb beside libmdm" [ -f "$PREFIX/lib/libduckdb.so" ]
check "static library installed" [ -f "$PREFIX/lib/libmdm.a" ]
check "pkg-config file installed" [ -f "$PREFIX/lib/pkgconfig/mdm.pc" ]

env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" version >"$WORK/out" 2>"$WORK/err"; STATUS=$?
OUT=$(cat "$WORK/out")
check "installed mdm runs without LD_LIBRARY_PATH" status_is 0
check "installed mdm prints its version" contains "$OUT" "MDM version"
# DuckDB is a module loaded on first use: neither the binary nor libmdm needs libduckdb.
check "libmdm_duckdb beside libmdm" [ -f "$PREFIX/lib/libmdm_duckdb.so" ]
if command -v readelf >/dev/null; then
  readelf -d "$PREFIX/bin/mdm" "$PREFIX/lib/libmdm.so" >"$WORK/out" 2>&1; STATUS=0
  check "mdm and libmdm do not need libduckdb" sh -c "! grep -q 'NEEDED.*libduckdb' '$WORK/out'"
fi
if command -v ldd >/dev/null; then
  ldd "$PREFIX/lib/libmdm_duckdb.so" >"$WORK/out" 2>&1; STATUS=0
  check "the DuckDB module resolves libduckdb inside the prefix" grep -q "libduckdb.so => $PREFIX/" "$WORK/out"
  check "the DuckDB module resolves libmdm inside the prefix" grep -q "libmdm.so.0 => $PREFIX/" "$WORK/out"
fi
printf 'a,b\n1,x\n2,y\n' >"$WORK/t.csv"
env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" dataset register t "$WORK/t.csv" --backend duckdb \
  >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "installed mdm loads its DuckDB module" status_is 0

cat >"$WORK/prog.c" <<'C'
#include <mdm/mdm.h>
#include <stdio.h>
int main(void) {
    mdm_batch *b = NULL;
    mdm_field f = {"x", MDM_TYPE_INT64};
    if (mdm_batch_new(&b, &f, 1, 4) != 0) return 1;
    printf("%s %s\n", mdm_version(), mdm_backend_library_version("sqlite"));
    mdm_batch_free(b);
    return 0;
}
C
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
# A sanitizer build of libmdm needs the program built with the same sanitizer.
SAN_FLAGS=""
if ldd "$PREFIX/lib/libmdm.so" | grep -q libasan; then SAN_FLAGS="-fsanitize=address,undefined"; fi
if ldd "$PREFIX/lib/libmdm.so" | grep -q libtsan; then SAN_FLAGS="-fsanitize=thread"; fi
cc $SAN_FLAGS -o "$WORK/prog" "$WORK/prog.c" $(pkg-config --cflags --libs mdm) >"$WORK/err" 2>&1; STATUS=$?
check "program builds with pkg-config mdm" status_is 0
env -u LD_LIBRARY_PATH "$WORK/prog" >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "program runs" status_is 0
finish
