#!/usr/bin/env python3
"""Loading a table into a pandas DataFrame from Python: mdm against pandas.read_sql.

    scripts/bench python_load [-- --runs 3 --rows 3000000 --backends sqlite,duckdb,postgresql]
    (or: PYTHONPATH=build-release/python python3 bench/python_load.py --build build-release)

Data: flights-3m.parquet of vega-datasets (scripts/fetch-samples), 3M rows of date
(timestamp), delay, distance (int64), origin, destination (text), registered once per
backend with the mdm command line (as bench/ingest.c makes the flights table), in a
private home under bench/results/.

Cases, each in a fresh child process (its own peak RSS), alternating, `--runs` times:
  mdm-<backend>        mdm.MDMClient().load_table(name, "data")
  mdm-floor-<backend>  the same engine read in C into a sink that only counts (the floor)
  pandas-sqlite        pandas.read_sql("SELECT * FROM data", sqlite3 connection)
  pandas-postgresql    pandas.read_sql(..., psycopg2 connection) on the same table
Reported: wall seconds (median), peak RSS growth over the child's baseline after imports
(MB), memory_usage(deep=True) of the DataFrame (MB), and the ratios the targets name:
pandas/mdm wall (SQLite >= 8x, PostgreSQL >= 5x), mdm/floor wall (<= 2x), peak/DataFrame
(<= 1.3x). Writes bench/results/python_load.json.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASET = "flights"


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# ------------------------------------------------------------------ children


def child(case, backend, info_json):
    import pandas as pd  # noqa: F401  (imported before the baseline, as a user would)
    import mdm
    info = json.loads(info_json)
    base = rss_kb()
    t0 = time.perf_counter()
    df = None
    if case == "mdm":
        df = mdm.MDMClient().load_table(DATASET, "data")
        rows = len(df)
    elif case == "floor":
        rows = mdm.MDMClient()._catalog.read_null(DATASET, "data")
    elif case == "pandas" and backend == "sqlite":
        import sqlite3
        con = sqlite3.connect(info["database"]["path"])
        df = pd.read_sql("SELECT * FROM data", con)
        rows = len(df)
        con.close()
    elif case == "pandas" and backend == "postgresql":
        import psycopg2
        import warnings
        con = psycopg2.connect(os.environ["MDM_TEST_PG_CONNINFO"])
        schema = info["database"].get("schema") or ("mdm_" + DATASET)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas prefers SQLAlchemy; a DB-API is fine
            df = pd.read_sql(f'SELECT * FROM "{schema}"."data"', con)
        rows = len(df)
        con.close()
    else:
        raise SystemExit(f"unknown case {case}/{backend}")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB
    out = {"wall_s": wall, "rows": int(rows), "peak_growth_mb": (peak - base) / 1024.0}
    if df is not None:
        out["df_mb"] = df.memory_usage(deep=True).sum() / 1048576.0
        out["dtypes"] = {c: str(t) for c, t in df.dtypes.items()}
    print(json.dumps(out))


# ------------------------------------------------------------------ parent


def env_for(home, backend):
    env = dict(os.environ)
    env["MDM_HOME_DIR"] = home
    env["MDM_DATABASE_DEFAULT_BACKEND"] = backend
    if backend == "postgresql":
        for key in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
            env[f"MDM_DATABASE_POSTGRESQL_{key}"] = os.environ[f"MDM_TEST_PG_{key}"]
    return env


def register(mdm_bin, parquet, rows, home, backend):
    env = env_for(home, backend)
    source = parquet
    if rows < 3_000_000:
        raise SystemExit("--rows below 3000000 is not supported (the parquet file is used whole)")
    cmd = [mdm_bin, "dataset", "register", DATASET, source, "--force", "--no-features"]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    info = subprocess.run([mdm_bin, "dataset", "info", DATASET, "--format", "json"], env=env,
                          capture_output=True, text=True)
    if info.returncode == 0 and info.stdout.strip().startswith("{"):
        return info.stdout
    # Fall back on the registry as the package reads it.
    code = "import mdm; print(mdm.MDMClient()._catalog.get('%s'))" % DATASET
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout


def run_child(case, backend, home, info_json):
    env = env_for(home, backend)
    proc = subprocess.run([sys.executable, __file__, "--child", case, backend, info_json],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{case}/{backend} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build-release"))
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "python_load.json"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--backends", default="sqlite,duckdb,postgresql")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)

    mdm_bin = os.path.join(args.build, "mdm")
    data = subprocess.run([os.path.join(REPO, "scripts", "fetch-samples")], check=True,
                          capture_output=True, text=True).stdout.strip()
    parquet = os.path.join(data, "flights-3m.parquet")
    homes = os.path.join(REPO, "bench", "results", "python_load-home")
    backends = [b for b in args.backends.split(",") if b]
    if "postgresql" in backends and not os.environ.get("MDM_TEST_PG_CONNINFO"):
        print("python_load: no PostgreSQL (MDM_TEST_PG_CONNINFO unset): skipped", file=sys.stderr)
        backends.remove("postgresql")

    results, rows_out = [], []
    for backend in backends:
        home = os.path.join(homes, backend)  # one home per backend: --force stays local
        os.makedirs(home, exist_ok=True)
        t0 = time.perf_counter()
        info_json = register(mdm_bin, parquet, args.rows, home, backend)
        print(f"python_load: registered {DATASET} on {backend} in "
              f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
        cases = ["mdm", "floor"] + (["pandas"] if backend in ("sqlite", "postgresql") else [])
        runs = {c: [] for c in cases}
        for _ in range(args.runs):
            for case in cases:  # alternating
                runs[case].append(run_child(case, backend, home, info_json))
        med = {c: {k: statistics.median(r[k] for r in runs[c])
                   for k in ("wall_s", "peak_growth_mb")} for c in cases}
        for c in cases:
            if "df_mb" in runs[c][0]:
                med[c]["df_mb"] = statistics.median(r["df_mb"] for r in runs[c])
            tool = {"mdm": f"mdm-{backend}", "floor": f"mdm-floor-{backend}",
                    "pandas": f"pandas-read_sql-{backend}"}[c]
            rows_out.append((tool, med[c]["wall_s"], med[c]["peak_growth_mb"],
                             med[c].get("df_mb"), runs[c][0]["rows"]))
            for metric, unit in (("wall_s", "s"), ("peak_growth_mb", "MB"), ("df_mb", "MB")):
                if metric in med[c]:
                    results.append({"case": f"load-{backend}", "tool": tool, "metric": metric,
                                    "value": round(med[c][metric], 4), "unit": unit})
        ratios = {"floor_ratio": med["mdm"]["wall_s"] / med["floor"]["wall_s"],
                  "peak_over_df": med["mdm"]["peak_growth_mb"] / med["mdm"]["df_mb"]}
        if "pandas" in med:
            ratios["speedup_vs_pandas"] = med["pandas"]["wall_s"] / med["mdm"]["wall_s"]
        for metric, value in ratios.items():
            results.append({"case": f"load-{backend}", "tool": f"mdm-{backend}",
                            "metric": metric, "value": round(value, 3), "unit": "ratio"})
        print(f"python_load: {backend}: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()),
              file=sys.stderr)
        print(f"python_load: {backend} dtypes: {runs['mdm'][0]['dtypes']}", file=sys.stderr)

    print(f"{'tool':<28}{'wall s':>9}{'peak+ MB':>10}{'df MB':>9}{'rows':>10}")
    for tool, wall, peak, df_mb, rows in rows_out:
        df_txt = f"{df_mb:9.1f}" if df_mb is not None else f"{'-':>9}"
        print(f"{tool:<28}{wall:9.3f}{peak:10.1f}{df_txt}{rows:10d}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
