"""Fixtures of the mdm Python package's tests.

Each test gets its own mdm home (MDM_HOME_DIR) and runs once per backend: SQLite,
DuckDB and PostgreSQL (the server of scripts/test-postgres through MDM_TEST_PG_*; skipped
without one unless MDM_REQUIRE_POSTGRES=1). Settings go through MDM_* variables, as a
user's would, so the command line run by a test sees the same home and backend.
"""
import itertools
import os
import random
import subprocess

import pytest

BACKENDS = ["sqlite", "duckdb", "postgresql"]
_schemas = itertools.count()


def _pg_available():
    return bool(os.environ.get("MDM_TEST_PG_HOST"))


def _check_backend(name):
    if name == "postgresql" and not _pg_available():
        if os.environ.get("MDM_REQUIRE_POSTGRES") == "1":
            pytest.fail("MDM_REQUIRE_POSTGRES=1 but no PostgreSQL (MDM_TEST_PG_HOST unset)")
        pytest.skip("no PostgreSQL: run under scripts/test-postgres")


@pytest.fixture(params=BACKENDS)
def backend(request):
    _check_backend(request.param)
    return request.param


def set_home(monkeypatch, home, backend):
    monkeypatch.setenv("MDM_HOME_DIR", str(home))
    monkeypatch.setenv("MDM_DATABASE_DEFAULT_BACKEND", backend)
    if backend == "postgresql":
        for key in ("HOST", "PORT", "USER", "PASSWORD", "DATABASE"):
            monkeypatch.setenv(f"MDM_DATABASE_POSTGRESQL_{key}", os.environ[f"MDM_TEST_PG_{key}"])
        # Each test its own schemas: runs and tests never collide.
        monkeypatch.setenv("MDM_DATABASE_POSTGRESQL_DATABASE_PREFIX",
                           f"py{os.getpid()}_{next(_schemas)}_")


@pytest.fixture
def home(tmp_path, monkeypatch, backend):
    h = tmp_path / "mdm-home"
    h.mkdir()
    set_home(monkeypatch, h, backend)
    return h


@pytest.fixture
def client(home):
    import mdm
    return mdm.MDMClient()


def mdm_binary():
    build = os.environ.get("MDM_TEST_BUILD_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build")
    return os.path.join(build, "mdm")


def run_cli(*args, check=True):
    """Runs the mdm command line in the test's environment (same home, same backend)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the binary links its own sanitizer runtime, if any
    proc = subprocess.run([mdm_binary(), *args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"mdm {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


# ------------------------------------------------------------------ data files

TYPES_CSV = (
    "id,n,x,flag,word,day,moment\n"
    "1,10,1.5,true,apple,2024-01-15,2024-01-15 10:30:00\n"
    "2,,2.25,false,,2024-02-29,\n"
    "3,-7,,,banana,,2023-12-31 23:59:59.123456\n"
    "4,9007199254740993,-0.0,true,Zürich ☃,1969-07-20,1970-01-01 00:00:00\n"
)

FULL_CSV = (
    "id,n,x,flag,word,day,moment\n"
    "1,10,1.5,true,apple,2024-01-15,2024-01-15 10:30:00\n"
    "2,-3,2.25,false,pear,2024-02-29,2024-02-29 00:00:01\n"
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def kaggle_folder(root, n_train=200, n_test=100, seed=7):
    """A Kaggle competition folder: train.csv, test.csv, sample_submission.csv."""
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "train.csv", "w") as f:
        f.write("PassengerId,Survived,Pclass,Sex,Age,Fare,Embarked\n")
        for i in range(1, n_train + 1):
            age = "" if i % 9 == 0 else str(rnd.randint(1, 80))
            sex = rnd.choice(["male", "female"])
            f.write(f"{i},{rnd.randint(0, 1)},{rnd.randint(1, 3)},{sex},{age},"
                    f"{rnd.random() * 90:.2f},{rnd.choice('SCQ')}\n")
    with open(root / "test.csv", "w") as f:
        f.write("PassengerId,Pclass,Sex,Age,Fare,Embarked\n")
        for i in range(n_train + 1, n_train + n_test + 1):
            f.write(f"{i},{rnd.randint(1, 3)},{rnd.choice(['male', 'female'])},"
                    f"{rnd.randint(1, 80)},{rnd.random() * 90:.2f},S\n")
    with open(root / "sample_submission.csv", "w") as f:
        f.write("PassengerId,Survived\n")
        for i in range(n_train + 1, n_train + n_test + 1):
            f.write(f"{i},0\n")
    return root


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long tests (1M rows, 1,000 loads); ctest runs them as python.slow.*")
