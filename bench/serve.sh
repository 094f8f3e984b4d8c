#!/usr/bin/env bash
# mdm serve under wrk (loopback, 50 connections, 2 wrk threads): dataset info, a cached
# query, an uncached 1,000-row query (cache off, a different OFFSET per request), an
# uncached 10,000-row table page, and nginx serving the same JSON bytes as static files
# (the ceiling). Prints a table and writes bench/results/serve.json.
#   bench/serve.sh            20 s per case
#   bench/serve.sh --quick    3 s per case
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=20
[ "${1:-}" = "--quick" ] && DURATION=3
CONNS=50
for tool in wrk nginx python3; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "bench/serve: $tool is missing (scripts/setup)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

build=build-release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMDM_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j 2 --target mdm >/dev/null
MDM="$PWD/$build/mdm"

WORK=$(mktemp -d /tmp/mdm-bench-serve-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for v in $(env | grep -o '^MDM_[A-Z_]*' | grep -v '^MDM_TEST_'); do unset "$v"; done
export MDM_HOME_DIR="$WORK/home"

python3 - "$WORK/data.csv" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    f.write("id,target,score,name,day\n")
    for i in range(50000):
        f.write(f"{i},{random.randint(0,1)},{random.random()*100:.4f},name_{i%97},2024-{i%12+1:02d}-{i%28+1:02d}\n")
PY
"$MDM" dataset register bench "$WORK/data.csv" --target target >/dev/null 2>&1

start_server() { # log-name [env...]: starts mdm serve, sets PORT
  local log="$WORK/$1.log"; shift
  env "$@" "$MDM" serve --port 0 --quiet 2>"$log" &
  PIDS+=($!)
  SERVER_PID=$!
  for _ in $(seq 200); do
    PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "bench/serve: server did not start" >&2; cat "$log" >&2; exit 1
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

CACHED_SQL='SELECT name, count(*) AS n, avg(score) AS s FROM data GROUP BY name ORDER BY name'
cat >"$WORK/cached.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"sql": "$CACHED_SQL"}'
LUA
cat >"$WORK/uncached.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"sql": "SELECT * FROM data LIMIT 1000 OFFSET %d", "limit": 1000}', (n * 7919) % 49000)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA

RESULTS="$WORK/results.txt"
: >"$RESULTS"
run_wrk() { # case tool url [lua]
  local case=$1 tool=$2 url=$3 lua=${4:-}
  local out="$WORK/wrk-$case-$tool.txt"
  if [ -n "$lua" ]; then
    wrk -t2 -c$CONNS -d${DURATION}s --latency -s "$lua" "$url" >"$out" 2>&1
  else
    wrk -t2 -c$CONNS -d${DURATION}s --latency "$url" >"$out" 2>&1
  fi
  echo "$case $tool $out" >>"$RESULTS"
}

# Cached server (defaults: cache on).
start_server cached
CACHED_PID=$SERVER_PID; CACHED_PORT=$PORT
B="http://127.0.0.1:$CACHED_PORT"
curl -sf "$B/api/datasets/bench" -o "$WORK/info.json"
curl -sf -X POST -H 'Content-Type: application/json' -d "{\"sql\": \"$CACHED_SQL\"}" "$B/api/datasets/bench/query" -o "$WORK/cached.json"
RSS_CACHED_0=$(rss_kb "$CACHED_PID")
run_wrk info mdm "$B/api/datasets/bench"
run_wrk cached_query mdm "$B/api/datasets/bench/query" "$WORK/cached.lua"
RSS_CACHED_1=$(rss_kb "$CACHED_PID")

# Uncached server (cache off): every request reaches the engine.
start_server uncached MDM_CACHE_ENABLED=false
UNCACHED_PID=$SERVER_PID
U="http://127.0.0.1:$PORT"
RSS_UNCACHED_0=$(rss_kb "$UNCACHED_PID")
run_wrk uncached_query_1000 mdm "$U/api/datasets/bench/query" "$WORK/uncached.lua"
run_wrk table_page_10000 mdm "$U/api/datasets/bench/tables/data?limit=10000"
RSS_UNCACHED_1=$(rss_kb "$UNCACHED_PID")

# nginx: the same bytes as static files.
mkdir -p "$WORK/www" "$WORK/nginx"
cp "$WORK/info.json" "$WORK/www/info.json"; cp "$WORK/cached.json" "$WORK/www/cached.json"
chmod a+rx "$WORK" "$WORK/www"; chmod a+r "$WORK/www/"*.json  # nginx workers run as nobody
NPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/nginx/nginx.conf" <<NGX
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  default_type application/json;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NPORT; root $WORK/www; }
}
NGX
"$NGINX" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr" &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$NPORT/info.json" -o /dev/null && break; sleep 0.05; done
run_wrk info nginx "http://127.0.0.1:$NPORT/info.json"
run_wrk cached_query nginx "http://127.0.0.1:$NPORT/cached.json"

python3 - "$RESULTS" bench/results/serve.json "$DURATION" "$(nproc)" \
  "$RSS_CACHED_0" "$RSS_CACHED_1" "$RSS_UNCACHED_0" "$RSS_UNCACHED_1" \
  "$(stat -c %s "$WORK/info.json")" "$(stat -c %s "$WORK/cached.json")" <<'PY'
import json, os, re, sys
res, out, dur, ncpu = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rss = list(map(int, sys.argv[5:9])); sizes = {"info": int(sys.argv[9]), "cached_query": int(sys.argv[10])}
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    v = float(m.group(1)); return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rows, table = [], []
for line in open(res):
    case, tool, path = line.split()
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))
    errs = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m: errs += sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m: errs += int(m.group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    table.append((case, tool, rps, p50, p99, errs, total))
    for metric, value, unit in (("req_per_s", rps, "req/s"), ("p50_ms", p50, "ms"), ("p99_ms", p99, "ms"), ("errors", errs, "count")):
        rows.append({"case": case, "tool": tool, "metric": metric, "value": value, "unit": unit})
by = {(c, t): r for c, t, r, *_ in table}
for case in ("info", "cached_query"):
    if (case, "mdm") in by and (case, "nginx") in by:
        rows.append({"case": case, "tool": "mdm", "metric": "ratio_to_nginx", "value": by[(case, "mdm")] / by[(case, "nginx")], "unit": "x"})
rows += [{"case": "cached_server", "tool": "mdm", "metric": "rss_kb_before_after", "value": [rss[0], rss[1]], "unit": "kB"},
         {"case": "uncached_server", "tool": "mdm", "metric": "rss_kb_before_after", "value": [rss[2], rss[3]], "unit": "kB"}]
os.makedirs(os.path.dirname(out), exist_ok=True)
json.dump(rows, open(out, "w"), indent=1)
print(f"mdm serve under wrk: {dur} s per case, 50 connections, loopback, {ncpu} cores (shared machine)")
print(f"{'case':<22}{'tool':<7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'requests':>10}")
for case, tool, rps, p50, p99, errs, total in table:
    print(f"{case:<22}{tool:<7}{rps:>10.0f}{p50:>9.2f}{p99:>9.2f}{errs:>8}{total:>10}")
for case in ("info", "cached_query"):
    if (case, "mdm") in by and (case, "nginx") in by:
        print(f"{case}: mdm / nginx = {by[(case, 'mdm')] / by[(case, 'nginx')]:.2f} ({sizes[case]} bytes per response)")
print(f"RSS cached server {rss[0]} -> {rss[1]} kB; uncached server {rss[2]} -> {rss[3]} kB")
PY
