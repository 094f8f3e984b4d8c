"""Threads calling one client at once, a fork child using the client, and reference
counts: no leak over 1,000 loads."""
import gc
import multiprocessing
import os
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import mdm
from conftest import TYPES_CSV, write


@pytest.fixture
def loaded(client, tmp_path):
    rows = ["id,v,s"] + [f"{i},{i * 0.25},{'' if i % 10 == 0 else 'w' + str(i % 13)}"
                         for i in range(20_000)]
    client.register_dataset("shared", write(tmp_path / "t.csv", "\n".join(rows) + "\n"),
                            show_progress=False, no_features=True)
    return client


def test_threads_share_one_client(loaded):
    expected = loaded.load_table("shared", "data")
    n_threads, loops = 6, 5
    barrier = threading.Barrier(n_threads)
    errors = []

    def work(k):
        try:
            barrier.wait()
            for j in range(loops):
                if (k + j) % 3 == 0:
                    assert loaded.dataset_exists("SHARED")
                    assert loaded.get_dataset("shared").name == "shared"
                df = loaded.load_table("shared", "data")
                pd.testing.assert_frame_equal(df, expected)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_reads_release_the_gil(loaded):
    """While one thread waits inside a read, another thread keeps running Python."""
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        for _ in range(5):
            loaded.load_table("shared", "data", columns=["id", "v"])
    finally:
        done.set()
        t.join()
    assert ticks


def _child_sum(_):
    client = mdm.MDMClient()
    df = client.load_table("shared", "data")
    return int(df["id"].sum()), int(df["s"].isna().sum())


def test_fork_child_uses_the_client(loaded, backend):
    parent = loaded.load_table("shared", "data")
    pid = os.fork()
    if pid == 0:  # the child: the inherited client and a new one both work
        code = 1
        try:
            df = loaded.load_table("shared", "data")
            again = mdm.MDMClient().load_table("shared", "data", columns=["id"])
            if df["id"].sum() == parent["id"].sum() and len(again) == len(parent):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's client is unharmed by the child.
    pd.testing.assert_frame_equal(loaded.load_table("shared", "data"), parent)
    ctx = multiprocessing.get_context("fork")
    # DuckDB lets one process at a time open a file: on DuckDB the children take turns.
    with ctx.Pool(1 if backend == "duckdb" else 2) as pool:
        results = pool.map(_child_sum, range(4))
    assert results == [(int(parent["id"].sum()), int(parent["s"].isna().sum()))] * 4


# Under AddressSanitizer freed memory waits in quarantine: RSS says nothing about leaks
# there (the reference counts still do).
SANITIZED = os.environ.get("MDM_TEST_SANITIZER") == "1"


def _rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_leak_over_1000_loads(client, tmp_path):
    client.register_dataset("leak", write(tmp_path / "l.csv", TYPES_CSV),
                            show_progress=False, no_features=True)
    for _ in range(50):
        client.load_table("leak", "data")
    gc.collect()
    none_refs = sys.getrefcount(None)
    true_refs = sys.getrefcount(True)
    rss = _rss_kb()
    for _ in range(1000):
        df = client.load_table("leak", "data")
        del df
    gc.collect()
    # Our code increfs None (NULL text) and True/False (bool with NULLs) per value.
    assert abs(sys.getrefcount(None) - none_refs) < 50
    assert abs(sys.getrefcount(True) - true_refs) < 50
    assert SANITIZED or _rss_kb() - rss < 20_000
    df = client.load_table("leak", "data")
    word = df["word"].iloc[0]
    del df
    gc.collect()
    assert sys.getrefcount(word) == 2  # only `word` (and the call's argument)


def test_categorical_and_iterators_do_not_leak(loaded):
    for _ in range(20):
        loaded.load_table("shared", "data", categorical=True)
        for _df in loaded.iter_batches("shared", "data", batch_size=7000):
            pass
    gc.collect()
    rss = _rss_kb()
    for _ in range(200):
        loaded.load_table("shared", "data", categorical=True, nullable=True)
        it = loaded.iter_batches("shared", "data", batch_size=5000)
        next(it)
        del it
    gc.collect()
    assert SANITIZED or _rss_kb() - rss < 30_000
    arr = loaded.load_table("shared", "data")["v"].to_numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
