"""Reading into pandas: dtypes and NULLs of every mdm type, nullable and categorical
options, pushed-down column subsets and limits, streaming, queries, a 1M-row round trip."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import mdm
from conftest import FULL_CSV, TYPES_CSV, write


@pytest.fixture
def typed(client, tmp_path):
    client.register_dataset("Typed", write(tmp_path / "typed.csv", TYPES_CSV),
                            show_progress=False, no_features=True)
    client.register_dataset("full", write(tmp_path / "full.csv", FULL_CSV),
                            show_progress=False, no_features=True)
    return client


def test_dtypes_as_read_sql_with_real_dates(typed):
    df = typed.load_table("typed", "data")
    assert list(df.columns) == ["id", "n", "x", "flag", "word", "day", "moment"]
    assert str(df["id"].dtype) == "int64"
    assert str(df["n"].dtype) == "float64"       # int with NULLs: float64 + NaN
    assert str(df["x"].dtype) == "float64"
    assert df["flag"].dtype == object            # bool with NULLs: True/False/None
    assert df["word"].dtype == object
    assert str(df["day"].dtype) == "datetime64[ns]"
    assert str(df["moment"].dtype) == "datetime64[ns]"
    assert df["id"].tolist() == [1, 2, 3, 4]
    assert df["n"].iloc[0] == 10 and np.isnan(df["n"].iloc[1]) and df["n"].iloc[2] == -7
    assert df["n"].iloc[3] == float(9007199254740993)
    assert df["x"].iloc[1] == 2.25 and np.isnan(df["x"].iloc[2])
    assert df["flag"].tolist() == [True, False, None, True]
    assert df["word"].tolist() == ["apple", None, "banana", "Zürich ☃"]
    assert df["day"].iloc[0] == pd.Timestamp("2024-01-15")
    assert df["day"].iloc[3] == pd.Timestamp("1969-07-20")
    assert pd.isna(df["day"].iloc[2])
    assert df["moment"].iloc[2] == pd.Timestamp("2023-12-31 23:59:59.123456")
    assert pd.isna(df["moment"].iloc[1])
    assert df["moment"].iloc[3] == pd.Timestamp("1970-01-01")


def test_dtypes_without_nulls(typed):
    df = typed.load_table("FULL", "data")
    assert [str(t) for t in df.dtypes] == ["int64", "int64", "float64", "bool", "object",
                                           "datetime64[ns]", "datetime64[ns]"]
    assert df["flag"].tolist() == [True, False]
    assert df["n"].tolist() == [10, -3]


def test_nullable_dtypes(typed):
    df = typed.load_table("typed", "data", nullable=True)
    assert [str(t) for t in df.dtypes] == ["Int64", "Int64", "Float64", "boolean", "string",
                                           "datetime64[ns]", "datetime64[ns]"]
    assert df["n"].iloc[3] == 9007199254740993   # exact: no float on the way
    assert df["n"].isna().tolist() == [False, True, False, False]
    assert df["flag"].isna().tolist() == [False, False, True, False]
    assert df["word"].isna().tolist() == [False, True, False, False]
    assert df["word"].iloc[3] == "Zürich ☃"


def test_categorical_low_cardinality_text(client, tmp_path):
    rows = ["id,city,name"] + [f"{i},{['Oslo', 'Rome', 'Lima'][i % 3]},person {i}"
                               for i in range(300)]
    client.register_dataset("cats", write(tmp_path / "c.csv", "\n".join(rows) + "\n"),
                            show_progress=False, no_features=True)
    df = client.load_table("cats", "data", categorical=True)
    assert str(df["city"].dtype) == "category"
    assert sorted(df["city"].cat.categories) == ["Lima", "Oslo", "Rome"]
    assert df["city"].tolist()[:4] == ["Oslo", "Rome", "Lima", "Oslo"]
    assert df["name"].dtype == object            # unique text stays str objects
    assert df["name"].iloc[299] == "person 299"


def test_columns_and_limit_go_to_the_engine(typed):
    df = typed.load_table("typed", "data", columns=["word", "id"], limit=2)
    assert list(df.columns) == ["word", "id"]
    assert df["id"].tolist() == [1, 2]
    df = typed.load_table("typed", "data", limit=2, offset=2)
    assert df["id"].tolist() == [3, 4]
    empty = typed.load_table("typed", "data", limit=0)
    assert len(empty) == 0 and list(empty.columns)[0] == "id"
    assert str(empty["id"].dtype) == "int64"


def test_iter_batches(client, tmp_path):
    rows = ["k,v,s"] + [f"{i},{i * 0.5},s{i % 7}" for i in range(10_000)]
    client.register_dataset("stream", write(tmp_path / "s.csv", "\n".join(rows) + "\n"),
                            show_progress=False, no_features=True)
    frames = list(client.iter_batches("stream", "data", batch_size=3000))
    assert [len(f) for f in frames] == [3000, 3000, 3000, 1000]
    whole = pd.concat(frames)
    assert whole["k"].tolist() == list(range(10_000))
    assert whole.index.tolist() == list(range(10_000))
    assert whole["s"].iloc[9999] == "s" + str(9999 % 7)
    # Dropping an iterator half way stops its reading thread.
    it = client.iter_batches("stream", "data", batch_size=100)
    assert len(next(it)) == 100
    del it
    # An empty result still gives the columns.
    frames = list(client.iter_batches("stream", "data", batch_size=10, limit=0))
    assert len(frames) == 1 and len(frames[0]) == 0 and list(frames[0].columns) == ["k", "v", "s"]


def test_load_dataset_files_and_dataset(client, tmp_path):
    from conftest import kaggle_folder
    folder = kaggle_folder(tmp_path / "comp")
    client.register_dataset("comp", folder, show_progress=False)
    files = client.load_dataset_files("comp", include_features=False)
    assert set(files) >= {"train", "test"}
    assert len(files["train"]) == 200 and len(files["test"]) == 100
    limited = client.load_dataset_files("comp", include_features=False, limit=5)
    assert all(len(df) == 5 for df in limited.values())
    X, y, ids = client.load_dataset("comp")
    assert y.name == "Survived" and len(y) == 200
    assert list(ids.columns) == ["PassengerId"]
    assert "Survived" not in X.columns and "PassengerId" not in X.columns
    X, y, ids = client.load_dataset("COMP", feature_columns=["Age", "Fare"], limit=10)
    assert list(X.columns) == ["Age", "Fare"] and len(X) == 10 and len(y) == 10
    with pytest.raises(mdm.ValidationError, match="nope"):
        client.load_dataset("comp", feature_columns=["nope"])
    train, test = mdm.load_dataset("comp")
    assert len(train) == 200 and len(test) == 100


def test_query_dataset(typed):
    df = typed.query_dataset("typed", "SELECT id, word FROM data WHERE id > 1 ORDER BY id")
    assert df["id"].tolist() == [2, 3, 4]
    assert df["word"].tolist() == [None, "banana", "Zürich ☃"]
    with pytest.raises(mdm.MDMError):
        typed.query_dataset("typed", "DROP TABLE data")


@pytest.mark.slow
def test_million_rows_round_trip(client, tmp_path):
    n = 1_000_000
    rng = np.random.default_rng(42)
    ints = rng.integers(-2**62, 2**62, n)
    floats = rng.standard_normal(n)
    words = np.array(["alpha", "beta", "gamma", "delta", "ε-unicode"])[rng.integers(0, 5, n)]
    days = rng.integers(0, 20000, n)
    base = np.datetime64("1970-01-01", "D")
    path = tmp_path / "big.csv"
    frame = pd.DataFrame({"i": ints, "f": floats, "w": words,
                          "d": (base + days).astype("datetime64[D]")})
    frame.loc[::1000, "w"] = None
    frame.to_csv(path, index=False)  # shortest round-trip text of each float
    client.register_dataset("big", path, show_progress=False, no_features=True,
                            auto_analyze=False)
    df = client.load_table("big", "data")
    assert len(df) == n
    assert np.array_equal(df["i"].to_numpy(), ints)
    assert np.array_equal(df["f"].to_numpy(), floats)
    expected_w = frame["w"].to_numpy(dtype=object)
    got_w = df["w"].to_numpy()
    assert (got_w == expected_w).all()
    assert all(v is None for v in got_w[::1000])
    assert np.array_equal(df["d"].to_numpy(), frame["d"].to_numpy().astype("datetime64[ns]"))


@pytest.mark.slow
def test_parallel_ranges_equal_one_read(client, tmp_path):
    rows = ["id,n,x,flag,word,day"] + [
        f"{i},{'' if i % 7 == 0 else i},{i / 4},{'true' if i % 3 else ''},"
        f"{'' if i % 5 == 0 else 'w' + str(i % 11)},2024-01-{1 + i % 28:02d}"
        for i in range(10_001)]
    client.register_dataset("ranges", write(tmp_path / "r.csv", "\n".join(rows) + "\n"),
                            show_progress=False, no_features=True)
    one = client.load_table("ranges", "data", threads=1)
    for threads in (2, 3, 8):
        pd.testing.assert_frame_equal(client.load_table("ranges", "data", threads=threads), one)
        pd.testing.assert_frame_equal(
            client.load_table("ranges", "data", threads=threads, nullable=True),
            client.load_table("ranges", "data", threads=1, nullable=True))
    assert one["n"].isna().sum() == len(range(0, 10_001, 7))


def test_iterator_outlives_its_client(client, tmp_path, backend):
    rows = ["k"] + [str(i) for i in range(1000)]
    client.register_dataset("alive", write(tmp_path / "a.csv", "\n".join(rows) + "\n"),
                            show_progress=False, no_features=True)
    # The extension's iterator alone keeps the catalog its dataset handle came from.
    it = mdm.MDMClient()._catalog.iter("alive", "data", 300)
    import gc
    gc.collect()
    assert sum(len(cols[0][2]) for cols in it) == 1000
