#!/usr/bin/env bash
# `cmake --install` puts the binary, libraries (the DuckDB and PostgreSQL modules and
# libduckdb beside libmdm), headers and mdm.pc in a prefix; the installed mdm runs without
# LD_LIBRARY_PATH, and a program built with `pkg-config mdm` links and runs.
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
# DuckDB and PostgreSQL are modules loaded on first use: neither the binary nor libmdm
# needs libduckdb or libpq.
check "libmdm_duckdb beside libmdm" [ -f "$PREFIX/lib/libmdm_duckdb.so" ]
check "libmdm_postgres beside libmdm" [ -f "$PREFIX/lib/libmdm_postgres.so" ]
if command -v readelf >/dev/null; then
  readelf -d "$PREFIX/bin/mdm" "$PREFIX/lib/libmdm.so" >"$WORK/out" 2>&1; STATUS=0
  check "mdm and libmdm do not need libduckdb or libpq" \
    sh -c "! grep -q -e 'NEEDED.*libduckdb' -e 'NEEDED.*libpq' '$WORK/out'"
fi
if command -v ldd >/dev/null; then
  ldd "$PREFIX/lib/libmdm_duckdb.so" >"$WORK/out" 2>&1; STATUS=0
  check "the DuckDB module resolves libduckdb inside the prefix" grep -q "libduckdb.so => $PREFIX/" "$WORK/out"
fi
if command -v readelf >/dev/null; then
  # A module takes libmdm's API from its host: a libmdm of its own would be a second copy.
  readelf -d "$PREFIX/lib/libmdm_duckdb.so" "$PREFIX/lib/libmdm_postgres.so" >"$WORK/out" 2>&1
  STATUS=0
  check "the modules do not need libmdm" sh -c "! grep -q 'NEEDED.*libmdm' '$WORK/out'"
fi
printf 'a,b\n1,x\n2,y\n' >"$WORK/t.csv"
env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" dataset register t "$WORK/t.csv" --backend duckdb \
  >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "installed mdm loads its DuckDB module" status_is 0
env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" info >"$WORK/out" 2>"$WORK/err"; STATUS=$?
OUT=$(cat "$WORK/out")
check "installed mdm loads its PostgreSQL module (libpq version)" sh -c "! grep -q 'libpq *unknown' '$WORK/out'"
# Without its module, DuckDB fails with an error naming the file; the rest works.
mv "$PREFIX/lib/libmdm_duckdb.so" "$WORK/moved.so"
env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" dataset register t2 "$WORK/t.csv" --backend duckdb \
  >"$WORK/out" 2>"$WORK/err"; STATUS=$?
ERR=$(cat "$WORK/err")
check "a missing module is an error" status_is 1
check "the error names the module's file" contains "$ERR" "$PREFIX/lib/libmdm_duckdb.so"
env -u LD_LIBRARY_PATH "$PREFIX/bin/mdm" dataset register t3 "$WORK/t.csv" --backend sqlite \
  >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "SQLite works without the DuckDB module" status_is 0
mv "$WORK/moved.so" "$PREFIX/lib/libmdm_duckdb.so"

cat >"$WORK/prog.c" <<'C'
#include <mdm/mdm.h>
#include <stdio.h>
int main(void) {
    mdm_batch *b = NULL;
    mdm_field f = {"x", MDM_TYPE_INT64};
    if (mdm_batch_new(&b, &f, 1, 4) != 0) return 1;
    printf("%s %s %s %s\n", mdm_version(), mdm_backend_library_version("sqlite"),
           mdm_backend_library_version("duckdb"), mdm_backend_library_version("postgresql"));
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
check "libmdm.so loads the modules for a program" sh -c "! grep -q unknown '$WORK/out'"

# A host that opens libmdm.so with RTLD_LOCAL (as Python opens extensions) still gets
# working modules: libmdm makes its symbols global before loading one.
cat >"$WORK/local.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    const char *(*version)(const char *) =
        (const char *(*)(const char *))dlsym(lib, "mdm_backend_library_version");
    printf("%s %s\n", version("duckdb"), version("postgres"));
    return argc > 2;
}
C
cc $SAN_FLAGS -o "$WORK/local" "$WORK/local.c" -ldl >"$WORK/err" 2>&1; STATUS=$?
check "RTLD_LOCAL program builds" status_is 0
env -u LD_LIBRARY_PATH "$WORK/local" "$PREFIX/lib/libmdm.so" >"$WORK/out" 2>"$WORK/err"; STATUS=$?
check "libmdm.so opened RTLD_LOCAL loads the modules" status_is 0
check "... and they work" sh -c "! grep -q unknown '$WORK/out'"
finish
