#!/usr/bin/env bash
# libmdm.so exports the public API and nothing else: every symbol it exports (nm -D
# --defined-only) is declared in include/mdm/*.h or include/mdm/sys/*.h and starts with
# mdm_, every declaration there is marked MDM_EXTERN, and every one of them is exported.
# Usage: test_exports.sh path/to/mdm path/to/libmdm.so
. "$(dirname "$0")/lib.sh"
export LC_ALL=C
LIB=${2:?usage: test_exports.sh path/to/mdm path/to/libmdm.so}
INCLUDE="$(cd "$(dirname "$0")/../../include" && pwd)"
STATUS=0
: >"$WORK/out"
: >"$WORK/err"

if ! command -v nm >/dev/null || ! command -v cc >/dev/null; then
  echo "skipped: nm and cc are needed" >&2
  exit 77
fi

# Exported symbols, one per line; without the ODR indicators AddressSanitizer adds
# beside exported variables (__odr_asan.mdm_backend_sqlite).
nm -D --defined-only "$LIB" 2>"$WORK/err" | awk 'NF == 3 { print $3 }' |
  grep -v '^__odr_asan\.' | sort -u >"$WORK/exported"
STATUS=$?
check "nm lists the library's exported symbols" [ "$(wc -l <"$WORK/exported")" -gt 100 ]

# Declarations of the public headers, as the compiler sees them: "name annotated" per
# line, annotated being 1 when the declaration has default visibility (MDM_EXTERN).
{
  for h in "$INCLUDE"/mdm/*.h "$INCLUDE"/mdm/sys/*.h; do
    echo "#include \"${h#"$INCLUDE"/}\""
  done
} >"$WORK/all.c"
cc -E -I "$INCLUDE" "$WORK/all.c" >"$WORK/pre.c" 2>"$WORK/err"
STATUS=$?
check "the public headers preprocess" status_is 0
python3 - "$WORK/pre.c" "$INCLUDE/mdm/" >"$WORK/declared" 2>"$WORK/err" <<'PY'
import re, sys

pre, public_dir = sys.argv[1], sys.argv[2]
# Keep the text that comes from the public headers (line markers name the file).
text, public = [], False
for line in open(pre):
    m = re.match(r'# \d+ "([^"]*)"', line)
    if m:
        public = m.group(1).startswith(public_dir)
    elif public:
        text.append(line)
text = " ".join(text)

def strip_attributes(s):
    """Removes __attribute__((...)) groups; says whether one gave default visibility."""
    out, visible, i = [], False, 0
    while True:
        j = s.find("__attribute__", i)
        if j < 0:
            out.append(s[i:])
            break
        out.append(s[i:j])
        k, depth = s.index("(", j), 0
        for end in range(k, len(s)):
            depth += {"(": 1, ")": -1}.get(s[end], 0)
            if depth == 0:
                break
        visible |= 'visibility("default")' in s[k:end + 1]
        i = end + 1
    return "".join(out), visible

# Top-level statements: split at ';' outside braces.
statements, depth, cur = [], 0, []
for ch in text:
    if ch == "{":
        depth += 1
    elif ch == "}":
        depth -= 1
    if ch == ";" and depth == 0:
        statements.append("".join(cur).strip())
        cur = []
    elif ch == "}" and depth == 0 and "".join(cur).lstrip().startswith("static"):
        cur = []  # the end of a static inline function: no ';' follows it
    else:
        cur.append(ch)
for st in statements:
    st, visible = strip_attributes(st)
    st = " ".join(st.split())
    if not st or re.match(r"(typedef|static)\b", st) or re.match(r"(enum|struct|union)\b[^(]*\{", st) \
            or re.fullmatch(r"(enum|struct|union)\s+\w+", st):  # a forward declaration
        continue
    if "(" in st:  # a function: the name before the parameter list
        name = re.search(r"([A-Za-z_]\w*)\s*\(", st).group(1)
    else:          # a variable: the last identifier
        name = re.findall(r"[A-Za-z_]\w*", st)[-1]
    print(name, int(visible))
PY
STATUS=$?
check "the declarations of the public headers are listed" [ "$(wc -l <"$WORK/declared")" -gt 100 ]

awk '{ print $1 }' "$WORK/declared" | sort -u >"$WORK/declared_names"
awk '$2 == 0 { print $1 }' "$WORK/declared" >"$WORK/out"
check "every public declaration is marked MDM_EXTERN" [ ! -s "$WORK/out" ]
comm -23 "$WORK/exported" "$WORK/declared_names" >"$WORK/out"
check "every exported symbol is declared in a public header" [ ! -s "$WORK/out" ]
grep -v '^mdm_' "$WORK/exported" >"$WORK/out"
check "every exported symbol starts with mdm_" [ ! -s "$WORK/out" ]
comm -13 "$WORK/exported" "$WORK/declared_names" >"$WORK/out"
check "every public declaration is exported" [ ! -s "$WORK/out" ]
finish
