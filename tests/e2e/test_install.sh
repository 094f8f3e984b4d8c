#!/usr/bin/env bash
# `cmake --install` puts the binary, libraries (libduckdb beside libmdm), headers and
# mdm.pc in a prefix; the installed mdm runs without LD_LIBRARY_PATH, and a program
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
if command -v ldd >/dev/null; then
  ldd "$PREFIX/bin/mdm" >"$WORK/out" 2>&1; STATUS=0
  check "installed mdm resolves libduckdb inside the prefix" grep -q "libduckdb.so => $PREFIX/" "$WORK/out"
fi

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
# mdm.pc forces no rpath on its users: the program finds libmdm through its own
# (libmdm finds libduckdb beside it through its $ORIGIN rpath).
check "mdm.pc sets no rpath" bash -c "! pkg-config --libs mdm | grep -q rpath"
cc $SAN_FLAGS -o "$WORK/prog" "$WORK/prog.c" $(pkg-config --cflags --libs mdm) \
  -Wl,-rpath,"$(pkg-config --variable=libdir mdm)" >"$WORK/err" 2>&1; STATUS=$?
check "program builds with pkg-config mdm" status_is 0
env -u LD_LIBRARY_PATH "$WORK/prog" >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "program runs" status_is 0
check "program runs against the installed libmdm.so" grep -q "libmdm.so.0 => $PREFIX/" <(ldd "$WORK/prog")
finish
