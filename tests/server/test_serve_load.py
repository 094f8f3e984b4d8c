#!/usr/bin/env python3
"""mdm serve under a bounded load: 20 seconds of mixed requests from 8 keep-alive
clients (info, cached and uncached queries, table pages, metrics). No request may fail,
and the server's RSS and open descriptors may not grow between the warm-up and the end.
Usage: test_serve_load.py path/to/mdm"""
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, cleanup, finish, make_env, make_folder, mdm, proc_figures, workdir  # noqa: E402

SECONDS = float(os.environ.get("MDM_SERVE_LOAD_SECONDS", "20"))
CLIENTS = 8


def client(port, idx, stop, stats):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    while not stop.is_set():
        i += 1
        k = (i + idx) % 5
        if k == 0:
            method, path, body = "GET", "/api/datasets/load", None
        elif k == 1:
            method, path, body = "POST", "/api/datasets/load/query", {"sql": "SELECT name, count(*) FROM train GROUP BY name ORDER BY name"}
        elif k == 2:
            method, path, body = "POST", "/api/datasets/load/query", {"sql": f"SELECT * FROM train ORDER BY id LIMIT 100 OFFSET {(i * 37 + idx) % 5000}"}
        elif k == 3:
            method, path, body = "GET", f"/api/datasets/load/tables/train?limit=200&offset={(i * 13) % 3000}", None
        else:
            method, path, body = "GET", "/api/metrics.json", None
        try:
            c.request(method, path, body=json.dumps(body) if body else None,
                      headers={"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            r.read()
            stats["ok" if r.status == 200 else "bad"] += 1
            if r.status != 200:
                stats["last"] = (path, r.status)
        except (OSError, http.client.HTTPException) as e:
            stats["bad"] += 1
            stats["last"] = (path, repr(e))
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.close()


def main():
    work = workdir()
    env, _ = make_env(work)
    try:
        folder = make_folder(work, 5000)
        mdm(env, "dataset", "register", "load", folder, "--backend", "sqlite", "--target", "target")
        # A small cache fills during the warm-up: what follows must stay flat.
        env["MDM_CACHE_MAX_BYTES"] = str(2 << 20)
        if env.get("ASAN_OPTIONS"):
            # ASan keeps freed memory in a quarantine (256 MB by default), which grows RSS
            # by design: a small one fills during the warm-up.
            env["ASAN_OPTIONS"] += ":quarantine_size_mb=8:thread_local_quarantine_size_kb=64"
        srv = Server(env, work, "--quiet", name="load")
        stop = threading.Event()
        stats = [{"ok": 0, "bad": 0} for _ in range(CLIENTS)]
        threads = [threading.Thread(target=client, args=(srv.port, i, stop, stats[i])) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(min(3.0, SECONDS / 4))  # warm-up: pools, cache and allocator reach their size
        rss0, fds0 = proc_figures(srv.proc.pid)
        time.sleep(SECONDS)
        rss1, fds1 = proc_figures(srv.proc.pid)
        stop.set()
        for t in threads:
            t.join()
        ok = sum(s["ok"] for s in stats)
        bad = sum(s["bad"] for s in stats)
        print(f"{ok} requests in {SECONDS:.0f} s ({ok / SECONDS:.0f}/s), {bad} errors; "
              f"RSS {rss0} -> {rss1} kB, fds {fds0} -> {fds1}")
        check("requests made", ok > 100, ok)
        check("no errors", bad == 0, [s.get("last") for s in stats])
        # The cache is bounded (2 MiB here): allow the allocator 8 MB of slack.
        check("RSS flat", rss1 - rss0 < 8 * 1024, (rss0, rss1))
        check("descriptors flat", fds1 <= fds0 + 2, (fds0, fds1))
        check("exit 0", srv.stop() == 0)
    finally:
        cleanup(work)
    finish()


if __name__ == "__main__":
    main()
