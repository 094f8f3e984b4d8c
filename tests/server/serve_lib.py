"""Helpers for the mdm serve tests: a temporary home, datasets registered through the
CLI on every backend, a server process and HTTP calls (standard library only)."""
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MDM = os.path.abspath(sys.argv[1])
PASSED = 0
FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAIL: {name} {detail}"[:3000], file=sys.stderr)


def finish():
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


def make_env(work):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MDM_") or k.startswith(("MDM_TEST_", "MDM_REQUIRE_"))}
    env["MDM_HOME_DIR"] = os.path.join(work, "home")
    backends = ["sqlite", "duckdb"]
    if os.environ.get("MDM_TEST_PG_CONNINFO"):
        backends.append("postgresql")
        env.update({
            "MDM_DATABASE_POSTGRESQL_HOST": os.environ["MDM_TEST_PG_HOST"],
            "MDM_DATABASE_POSTGRESQL_PORT": os.environ["MDM_TEST_PG_PORT"],
            "MDM_DATABASE_POSTGRESQL_USER": os.environ["MDM_TEST_PG_USER"],
            "MDM_DATABASE_POSTGRESQL_PASSWORD": os.environ["MDM_TEST_PG_PASSWORD"],
            "MDM_DATABASE_POSTGRESQL_DATABASE": os.environ["MDM_TEST_PG_DATABASE"],
            "MDM_DATABASE_POSTGRESQL_DATABASE_PREFIX": f"srv{os.getpid()}_",
        })
    elif os.environ.get("MDM_REQUIRE_POSTGRES") == "1":
        print("PostgreSQL required (MDM_REQUIRE_POSTGRES=1) but MDM_TEST_PG_CONNINFO is unset",
              file=sys.stderr)
        sys.exit(1)
    return env, backends


def make_folder(work, rows=2000):
    d = os.path.join(work, "kaggle")
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(7)
    with open(os.path.join(d, "train.csv"), "w") as f:
        f.write("id,target,score,name,day\n")
        for i in range(rows):
            f.write(f"{i},{rnd.randint(0, 1)},{rnd.random() * 100:.3f},n{i % 13},"
                    f"2024-01-{i % 28 + 1:02d}\n")
    with open(os.path.join(d, "test.csv"), "w") as f:
        f.write("id,score,name,day\n")
        for i in range(rows, rows + 100):
            f.write(f"{i},{rnd.random():.3f},m{i},2024-02-01\n")
    return d


def mdm(env, *args, check_rc=True):
    p = subprocess.run([MDM, *args], env=env, capture_output=True, text=True, timeout=300)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"mdm {' '.join(args)} failed: {p.stderr}")
    return p


class Server:
    def __init__(self, env, work, *args, name="server"):
        self.log = os.path.join(work, f"{name}.log")
        self.err = open(self.log, "w")
        self.proc = subprocess.Popen([MDM, "serve", "--port", "0", *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.proc.poll() is None:
            with open(self.log) as f:
                for line in f:
                    if "listening on http://" in line:
                        self.port = int(line.split("http://", 1)[1].split(" ")[0].rsplit(":", 1)[1])
            if self.port:
                break
            time.sleep(0.02)
        if not self.port:
            raise RuntimeError("server did not start: " + open(self.log).read())

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def json(self, method, path, body=None, headers=None, timeout=60):
        st, h, data = self.request(method, path, body, headers, timeout)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return st, h, doc

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.err.close()
        return rc


def workdir():
    work = tempfile.mkdtemp(prefix="mdm-serve-")
    return work


def cleanup(work):
    shutil.rmtree(work, ignore_errors=True)


def proc_figures(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds
