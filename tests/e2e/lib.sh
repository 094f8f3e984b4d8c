# Helpers for end-to-end tests of the mdm binary. Source it; $MDM is the binary.
# Every check prints one line as it finishes ("ok N name" or "FAIL N name"), so that a
# long script shows how far it got (ctest -V, or the log of a failed or timed-out test).
set -u
MDM=${1:?usage: test_x.sh path/to/mdm}
WORK=$(mktemp -d /tmp/mdm-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export MDM_HOME_DIR="$WORK/home"
# Keep the caller's MDM_* settings out of the tests.
for v in $(env | grep -o '^MDM_[A-Z_]*' | grep -v -e '^MDM_HOME_DIR$' -e '^MDM_TEST_' -e '^MDM_REQUIRE_'); do unset "$v"; done
PASSED=0
FAILED=0

# run CMD...: runs mdm, capturing $OUT, $ERR and $STATUS.
run() {
  "$MDM" "$@" >"$WORK/out" 2>"$WORK/err"
  STATUS=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}

check() { # name condition...
  local name=$1; shift
  if "$@"; then
    PASSED=$((PASSED + 1))
    echo "ok $((PASSED + FAILED)) $name"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $((PASSED + FAILED)) $name" >&2
    echo "  status=$STATUS" >&2
    echo "  stdout: $(head -c 2000 "$WORK/out")" >&2
    echo "  stderr: $(head -c 2000 "$WORK/err")" >&2
  fi
}
contains() { case "$1" in *"$2"*) return 0 ;; *) return 1 ;; esac; }
status_is() { [ "$STATUS" -eq "$1" ]; }
one_line() { [ "$(printf '%s\n' "$1" | grep -c .)" -eq 1 ]; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
