"""MDMClient's management methods, case-insensitive names, errors and their messages,
the module helpers, and the command line seeing what Python registers (and back)."""
import json
import os

import pandas as pd
import pytest

import mdm
from conftest import FULL_CSV, kaggle_folder, run_cli, write


def test_register_get_list_update_remove(client, tmp_path, backend):
    folder = kaggle_folder(tmp_path / "Titanic")
    seen = []
    info = client.register_dataset(
        "Titanic", folder, description="ships", tags=["sea", "kaggle"],
        progress=lambda *a: seen.append(a))
    assert seen and seen[-1][-1] is True                      # finished
    assert isinstance(info, mdm.DatasetInfo)
    assert info.name == "titanic" and info.target_column == "Survived"
    assert info.id_columns == ["PassengerId"]
    assert info.problem_type == "binary_classification"
    assert info.tags == ["sea", "kaggle"] and info.description == "ships"
    assert info.database["backend"] == backend
    assert info.has_train_test_split and not info.has_validation
    assert info.registered_at is not None and info.registered_at.tzinfo is not None

    assert client.dataset_exists("TITANIC") and not client.dataset_exists("other")
    assert client.get_dataset("TiTaNiC").name == "titanic"
    assert client.get_dataset("nope") is None
    assert mdm.get_dataset_info("titanic").name == "titanic"
    assert mdm.list_datasets() == ["titanic"]

    client.register_dataset("second", write(tmp_path / "s.csv", FULL_CSV), tags="other",
                            show_progress=False)
    names = [d.name for d in client.list_datasets()]
    assert names == ["second", "titanic"]                      # newest first
    assert [d.name for d in client.list_datasets(sort_by="name", ascending=True)] == \
        ["second", "titanic"]
    assert [d.name for d in client.list_datasets(tags=["sea"])] == ["titanic"]
    assert len(client.list_datasets(limit=1)) == 1

    updated = client.update_dataset("TITANIC", description="boats", tags=["x"])
    assert updated.description == "boats" and updated.tags == ["x"]
    assert client.get_dataset("titanic").description == "boats"

    assert [d.name for d in client.search_datasets("tita")] == ["titanic"]
    assert [d.name for d in client.search_datasets("*cond")] == ["second"]
    assert [d.name for d in client.search_datasets("Fare", deep=True)] == ["titanic"]
    assert [d.name for d in client.search_datasets_by_tag("x")] == ["titanic"]

    stats = client.compute_statistics("titanic")
    assert isinstance(stats, dict) and stats
    assert client.get_statistics("titanic")

    out = tmp_path / "export"
    paths = client.export_dataset("titanic", out, format="csv")
    assert any(p.endswith("titanic_metadata.json") for p in paths)
    assert all(os.path.exists(p) for p in paths)

    info = client.get_column_info("titanic", "train")
    assert info["train"]["Age"]["null_count"] > 0

    client.remove_dataset("Titanic", force=True)
    assert not client.dataset_exists("titanic")
    with pytest.raises(mdm.DatasetError, match="not found"):
        client.remove_dataset("titanic")


def test_errors_carry_the_message(client, tmp_path):
    with pytest.raises(mdm.DatasetError, match="Dataset 'missing' not found") as e:
        client.load_table("missing", "train")
    assert e.value.code == "ENOTFOUND"
    client.register_dataset("one", write(tmp_path / "one.csv", FULL_CSV), show_progress=False)
    with pytest.raises(mdm.DatasetError, match="Table 'nope' not found"):
        client.load_table("one", "nope")
    with pytest.raises(mdm.DatasetError, match="already exists"):
        client.register_dataset("ONE", tmp_path / "one.csv", show_progress=False)
    with pytest.raises(mdm.ValidationError):
        client.register_dataset("bad name!", tmp_path / "one.csv", show_progress=False)
    with pytest.raises(mdm.MDMError):
        client.register_dataset("two", tmp_path / "absent.csv", show_progress=False)
    with pytest.raises(mdm.ValidationError):
        client.register_dataset("three", tmp_path / "one.csv", target_column="nope",
                                show_progress=False)
    with pytest.raises(mdm.ValidationError, match="No updates"):
        client.update_dataset("one")
    for framework, module in (("tensorflow", "tensorflow"), ("pytorch", "torch")):
        if not _has(module):
            with pytest.raises(ImportError, match=f"install {module}"):
                client.prepare_for_ml("one", framework=framework)
    with pytest.raises(mdm.ValidationError, match="Unknown framework"):
        client.get_framework_adapter("caffe")
    # Nothing of the failed registrations is left behind.
    assert [d.name for d in client.list_datasets()] == ["one"]


def _has(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def test_force_replaces(client, tmp_path):
    p = write(tmp_path / "a.csv", FULL_CSV)
    client.register_dataset("again", p, show_progress=False)
    client.register_dataset("again", p, force=True, description="second",
                            show_progress=False)
    assert client.get_dataset("again").description == "second"
    assert len(client.load_table("again", "data")) == 2


def test_prepare_for_ml_and_submission(client, tmp_path):
    folder = kaggle_folder(tmp_path / "comp")
    client.register_dataset("comp", folder, show_progress=False)
    X, y, ids = client.prepare_for_ml("comp", framework="sklearn")
    assert len(X) == len(y) == 200
    assert client.get_framework_adapter("auto").framework == "sklearn"
    preds = pd.Series([1] * 100)
    path = client.create_submission("comp", preds, tmp_path / "sub.csv")
    sub = pd.read_csv(path)
    assert list(sub.columns) == ["PassengerId", "Survived"]
    assert sub["PassengerId"].tolist() == list(range(201, 301))
    results = client.process_in_chunks(X, len, chunk_size=64)
    assert results == [64, 64, 64, 8]


def test_cli_and_python_share_the_catalog(client, tmp_path, backend):
    # The command line registers, Python loads.
    csv = write(tmp_path / "cli.csv", FULL_CSV)
    run_cli("dataset", "register", "From_CLI", str(csv))
    assert client.dataset_exists("from_cli")
    df = client.load_table("FROM_CLI", "data")
    assert df["id"].tolist() == [1, 2] and df["word"].tolist() == ["apple", "pear"]
    # Python registers, the command line lists, shows and reads it.
    client.register_dataset("from_py", csv, show_progress=False, description="made in py")
    out = run_cli("dataset", "list", "--format", "json", check=False)
    if out.returncode != 0:
        out = run_cli("dataset", "list")
    assert "from_py" in out.stdout and "from_cli" in out.stdout
    info = run_cli("dataset", "info", "FROM_PY")
    assert "made in py" in info.stdout
    exported = tmp_path / "exp"
    run_cli("dataset", "export", "from_py", "--output-dir", str(exported), "--format", "csv",
            "--compression", "none")
    back = pd.read_csv(exported / "from_py_data.csv")
    assert back["id"].tolist() == [1, 2]


def test_config(client, home, backend):
    cfg = mdm.get_config()
    assert cfg.home == str(home)
    assert cfg.database.default_backend == backend
    assert cfg.get("performance.batch_size") > 0
    other = mdm.MDMClient({"home": str(home), "database.default_backend": "duckdb"})
    assert other.config.database.default_backend == "duckdb"
    with pytest.raises(KeyError):
        mdm.MDMClient({"no.such.key": 1})
    with pytest.raises(mdm.ConfigError):
        mdm.MDMClient({"performance.batch_size": "many"})


def test_exception_in_progress_cancels_registration(client, tmp_path):
    rows = ["id,v"] + [f"{i},{i}" for i in range(50_000)]
    path = write(tmp_path / "big.csv", "\n".join(rows) + "\n")

    class Stop(Exception):
        pass

    def progress(*args):
        raise Stop("user stopped")

    with pytest.raises(Stop, match="user stopped"):
        client.register_dataset("stopped", path, progress=progress)
    assert not client.dataset_exists("stopped")
    # The name is free again: nothing was left behind.
    client.register_dataset("stopped", path, show_progress=False, no_features=True)
    assert len(client.load_table("stopped", "data", columns=["id"])) == 50_000


def test_time_series_splits(client, tmp_path):
    rows = ["day,value"] + [f"2024-01-{d:02d},{d}" for d in range(1, 31)]
    client.register_dataset("ts", write(tmp_path / "ts.csv", "\n".join(rows) + "\n"),
                            time_column="day", target_column="value", show_progress=False)
    splits = client.split_time_series("ts", n_splits=3, test_size=0.3)
    assert len(splits) == 3
    for train, test in splits:
        assert train["day"].max() < test["day"].min()
        assert len(test) == 3
    assert len(splits[0][0]) < len(splits[2][0])           # expanding
