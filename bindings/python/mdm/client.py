"""MDMClient: the Python mdm's programmatic API over libmdm.

Every method goes through the same catalog as the command line: what one registers the
other sees. Names are case-insensitive. Reads go from the engine into NumPy memory in C
(column subsets and row limits are pushed down to the engine), with the GIL released.
"""
import json
import os

import pandas as pd

from . import _mdm
from ._frame import column_array, frame, series
from ._mdm import DatasetError, ValidationError
from ._progress import Progress
from .config import Config
from .ml import MLFrameworkAdapter, write_submission
from .models import DatasetInfo

_NOT_FOUND = "ENOTFOUND"


def _csv(value):
    """A list or a comma-separated string, as the command line takes it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def _config_args(config):
    """config=None | a home directory | {"home": ..., "dotted.key": value, ...}."""
    if config is None:
        return None, None
    if isinstance(config, (str, os.PathLike)):
        return os.fspath(config), None
    if isinstance(config, dict):
        home = config.get("home")
        settings = []
        for key, value in config.items():
            if key == "home":
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            settings.append((key, "null" if value is None else str(value)))
        return (os.fspath(home) if home else None), settings
    raise TypeError("config must be None, a home directory or a dict of settings")


class MDMClient:
    """The datasets of one mdm home.

    MDMClient(config=None): config None uses $MDM_HOME_DIR or ~/.mdm with its mdm.yaml
    and MDM_* variables; a path names another home; a dict may hold "home" and dotted
    keys to override ({"database.default_backend": "duckdb"}).
    """

    def __init__(self, config=None):
        home, settings = _config_args(config)
        self._catalog = _mdm.Catalog(home, settings)
        self._config = None

    @property
    def config(self):
        if self._config is None:
            self._config = Config(self._catalog)
        return self._config

    # ------------------------------------------------------------------ registration

    def register_dataset(self, name, dataset_path=None, *, target_column=None,
                         id_columns=None, problem_type=None, description=None, tags=None,
                         force=False, time_column=None, group_column=None, backend=None,
                         auto_analyze=True, show_progress=True, categorical_columns=None,
                         datetime_columns=None, numeric_columns=None, text_columns=None,
                         stratify_column=None, ignore_columns=None, source=None,
                         train=None, test=None, validation=None, submission=None,
                         dry_run=False, no_features=False, generate_features=True,
                         skip_analysis=False, progress=None):
        """Registers a file or a directory (Kaggle layout detected) as `name`.

        Every option of `mdm dataset register` as a keyword; lists or comma-separated
        strings for column lists and tags. Progress is shown unless show_progress=False
        (or pass progress=callable(table, index, ntables, rows, bytes_done, bytes_total,
        elapsed_s, finished)). Returns the committed DatasetInfo."""
        bar = None
        if progress is None and show_progress:
            progress = bar = Progress()
        try:
            record, _notes = self._catalog.register(
                name,
                os.path.expanduser(os.fspath(dataset_path)) if dataset_path is not None else None,
                backend=backend, target=target_column, id_columns=_csv(id_columns),
                problem_type=problem_type, description=description, tags=_csv(tags),
                time_column=time_column, group_column=group_column,
                categorical_columns=_csv(categorical_columns),
                datetime_columns=_csv(datetime_columns),
                numeric_columns=_csv(numeric_columns), text_columns=_csv(text_columns),
                stratify_column=stratify_column, ignore_columns=_csv(ignore_columns),
                source=source, train=train, test=test, validation=validation,
                submission=submission, dry_run=dry_run,
                skip_analysis=skip_analysis or not auto_analyze, force=force,
                no_features=no_features or not generate_features, progress=progress)
        finally:
            if bar is not None:
                bar.close()
        return DatasetInfo.from_json(record)

    # ------------------------------------------------------------------ records

    def get_dataset(self, name):
        """DatasetInfo, or None when no such dataset."""
        try:
            return DatasetInfo.from_json(self._catalog.get(name))
        except DatasetError as e:
            if getattr(e, "code", None) == _NOT_FOUND:
                return None
            raise

    def _info(self, name):
        return DatasetInfo.from_json(self._catalog.get(name))

    def dataset_exists(self, name):
        return self._catalog.exists(name)

    def list_datasets(self, limit=None, tags=None, sort_by="registration_date",
                      ascending=False):
        """Datasets, newest first by default. tags: any of them; sort_by: name,
        registration_date or size."""
        infos = [DatasetInfo.from_json(j) for j in self._catalog.list()]
        if tags:
            wanted = [tags] if isinstance(tags, str) else list(tags)
            infos = [d for d in infos if any(t in d.tags for t in wanted)]
        if sort_by == "name":
            infos.sort(key=lambda d: d.name, reverse=not ascending)
        elif sort_by == "registration_date":
            infos.sort(key=lambda d: (d.registered_at is not None,
                                      d.registered_at.timestamp() if d.registered_at else 0),
                       reverse=not ascending)
        elif sort_by == "size":
            infos.sort(key=lambda d: d.memory_size_bytes or 0, reverse=not ascending)
        elif sort_by is not None:
            raise ValidationError(f"Invalid sort field '{sort_by}'. Must be one of: "
                                  "name, registration_date, size")
        if limit:
            infos = infos[:limit]
        return infos

    def update_dataset(self, name, description=None, target_column=None,
                       problem_type=None, id_columns=None, tags=None):
        return DatasetInfo.from_json(self._catalog.update(
            name, description=description, target_column=target_column,
            problem_type=problem_type, id_columns=_csv(id_columns), tags=_csv(tags)))

    def remove_dataset(self, name, force=False):
        """Removes the dataset: registry entry and storage. (No prompt in the API;
        `force` is accepted for the Python mdm's signature.)"""
        self._catalog.remove(name)

    def search_datasets(self, pattern, deep=False, case_sensitive=False, limit=None):
        """Datasets whose name (glob when `pattern` has * ? [), description or tags
        match; with deep=True also column names."""
        glob = any(c in pattern for c in "*?[")
        matches = self._catalog.search(query=pattern, pattern=glob,
                                       case_sensitive=case_sensitive, deep=deep,
                                       limit=limit or 0)
        return self._unique(matches)

    def search_datasets_by_tag(self, tag):
        return self._unique(self._catalog.search(tag=tag))

    @staticmethod
    def _unique(matches):
        seen, out = set(), []
        for record, _where, _detail in matches:
            info = DatasetInfo.from_json(record)
            if info.name not in seen:
                seen.add(info.name)
                out.append(info)
        return out

    # ------------------------------------------------------------------ reading

    def _read(self, name, table, columns=None, limit=None, offset=0, nullable=False,
              categorical=False, threads=None):
        return self._catalog.read(
            name, table, columns=None if columns is None else list(columns),
            limit=-1 if limit is None else int(limit), offset=int(offset),
            nullable=nullable, categorical=categorical,
            text_null=pd.NA if nullable else None, threads=int(threads or 0))

    def load_table(self, name, table="train", columns=None, limit=None, offset=0,
                   nullable=False, categorical=False, threads=None):
        """One table (a kind such as "train", or a table name) as a DataFrame.

        dtypes as pandas.read_sql gives them (int64; float64 with NaN for an integer
        column with NULLs; object str; bool), dates and timestamps as datetime64[ns].
        nullable=True: pandas' nullable dtypes (Int64, Float64, boolean, string).
        categorical=True: text columns of low cardinality as Categorical.
        A whole table of 1M rows or more on SQLite or PostgreSQL is read as row ranges
        on several threads (one per core, at most 4); threads=1 reads it in one go."""
        cols = self._read(name, table, columns, limit, offset, nullable, categorical,
                          threads)
        return frame(cols, nullable)

    def load_dataset_files(self, name, include_features=True, limit=None, nullable=False,
                           categorical=False):
        """{kind: DataFrame} for every table (feature tables under their own names)."""
        info = self._info(name)
        tables = dict(info.tables)
        if include_features:
            for kind, table in info.feature_tables.items():
                key = kind if kind not in tables else table
                tables[key] = table
        return {key: self.load_table(info.name, table, limit=limit, nullable=nullable,
                                     categorical=categorical)
                for key, table in tables.items()}

    def load_dataset(self, name, target_column=None, feature_columns=None, id_columns=None,
                     limit=None, table=None, nullable=False, categorical=False):
        """(X, y, ids) of the train (or only) table: y is the target Series (None when
        there is no target), ids a DataFrame of the ID columns (None when none). Only
        the columns asked for are read."""
        info = self._info(name)
        if table is None:
            table = "train" if "train" in info.tables else "data"
            if table not in info.tables:
                if len(info.tables) != 1:
                    raise DatasetError(f"No main data table found in dataset '{info.name}'")
                table = next(iter(info.tables))
        target = target_column if target_column is not None else info.target_column
        ids = list(id_columns) if id_columns is not None else list(info.id_columns)
        wanted = None
        if feature_columns is not None:
            wanted = list(dict.fromkeys(list(feature_columns) +
                                        ([target] if target else []) + ids))
            schema = {c for c, _t in self._catalog.schema(info.name, table)}
            missing = [c for c in wanted if c not in schema]
            if any(c in missing for c in feature_columns):
                raise ValidationError(f"Columns not found in '{table}': "
                                      f"{', '.join(c for c in feature_columns if c in missing)}")
            wanted = [c for c in wanted if c in schema]
        cols = self._read(info.name, table, wanted, limit, 0, nullable, categorical)
        by_name = {c[0]: c for c in cols}
        y = series(by_name[target], nullable) if target in by_name else None
        id_cols = [by_name[c] for c in ids if c in by_name and c != target]
        taken = {target} | {c[0] for c in id_cols}
        if feature_columns is not None:
            x_cols = [by_name[c] for c in feature_columns if c in by_name]
        else:
            x_cols = [c for c in cols if c[0] not in taken]
        X = frame(x_cols, nullable)
        id_frame = frame(id_cols, nullable) if id_cols else None
        return X, y, id_frame

    def iter_batches(self, name, table="train", batch_size=None, columns=None, limit=None,
                     nullable=False, categorical=False):
        """Yields DataFrames of `batch_size` rows (the last may be shorter): a table
        larger than memory, streamed. The first frame may be empty only when the
        table is."""
        if batch_size is None:
            batch_size = self.config.get("performance.batch_size") or 10000
        it = self._catalog.iter(name, table, int(batch_size),
                                columns=None if columns is None else list(columns),
                                limit=-1 if limit is None else int(limit),
                                nullable=nullable, categorical=categorical,
                                text_null=pd.NA if nullable else None)
        start = 0
        for cols in it:
            df = frame(cols, nullable)
            df.index = pd.RangeIndex(start, start + len(df))
            start += len(df)
            yield df

    def query_dataset(self, name, sql, limit=None, timeout_ms=0, nullable=False):
        """Read-only SQL on the dataset's engine (tables named as in the dataset)."""
        cols = self._catalog.query(name, sql, limit=int(limit or 0),
                                   timeout_ms=int(timeout_ms), nullable=nullable,
                                   text_null=pd.NA if nullable else None)
        return frame(cols, nullable)

    def get_column_info(self, name, table="train", sample=1000):
        """{table: {column: {dtype, mdm_type, null_count, unique_count, sample_values}}}
        from the first `sample` rows (table None: every table)."""
        info = self._info(name)
        tables = [table] if table else list(info.tables) + list(info.feature_tables.values())
        out = {}
        for t in tables:
            types = dict(self._catalog.schema(info.name, t))
            df = self.load_table(info.name, t, limit=sample)
            out[t] = {c: {"dtype": str(df[c].dtype), "mdm_type": types.get(c),
                          "null_count": int(df[c].isna().sum()),
                          "unique_count": int(df[c].nunique()),
                          "sample_values": df[c].dropna().head(5).tolist()}
                      for c in df.columns}
        return out

    # ------------------------------------------------------------------ statistics, export

    def compute_statistics(self, name, full=False):
        """Recomputes (and caches) the statistics document; returns it as a dict."""
        return json.loads(self._catalog.stats(name, full=full, recompute=True))

    def get_statistics(self, name, full=False):
        """The cached statistics (computed when none are cached, or when full)."""
        return json.loads(self._catalog.stats(name, full=full, recompute=False))

    def export_dataset(self, name, output_dir=".", format="csv", compression=None,
                       table=None, metadata_only=False, no_header=False):
        """Writes <output_dir>/<name>_metadata.json and one file per table; returns
        the paths written."""
        return self._catalog.export(name, output_dir=os.fspath(output_dir), table=table,
                                    format=format, compression=compression,
                                    metadata_only=metadata_only, no_header=no_header)

    # ------------------------------------------------------------------ machine learning

    def prepare_for_ml(self, name, framework="auto", target_column=None,
                       feature_columns=None, return_sparse=False):
        adapter = MLFrameworkAdapter.create(framework)
        X, y, ids = self.load_dataset(name, target_column=target_column,
                                      feature_columns=feature_columns)
        return adapter.prepare_data(X, y, ids, return_sparse)

    def get_framework_adapter(self, framework="auto"):
        return MLFrameworkAdapter.create(framework)

    def create_submission(self, name, predictions, submission_file, id_column=None,
                          target_column=None):
        """Writes a submission CSV (ID column + prediction column) for the test table.
        IDs come from the test table (or from `predictions` when it is a DataFrame
        holding the ID column). Returns the path."""
        info = self._info(name)
        id_column = id_column or (info.id_columns[0] if info.id_columns else None)
        if not id_column:
            raise DatasetError("No ID column found or specified")
        target_column = target_column or info.target_column
        if not target_column:
            raise DatasetError("No target column found or specified")
        ids = None
        if not (isinstance(predictions, pd.DataFrame) and id_column in predictions.columns):
            table = "test" if "test" in info.tables else None
            if table is None:
                raise DatasetError(f"Dataset '{info.name}' has no test table for the IDs")
            cols = self._read(info.name, table, [id_column])
            ids = column_array(cols[0])
        return write_submission(predictions, submission_file, id_column, target_column, ids)

    def process_in_chunks(self, data, process_func, chunk_size=None):
        """Applies process_func to consecutive row chunks of a DataFrame (or of the
        batches of a dataset table when `data` is a (name, table) pair); returns the
        list of results."""
        if chunk_size is None:
            chunk_size = self.config.get("performance.batch_size") or 10000
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], str):
            return [process_func(df) for df in self.iter_batches(data[0], data[1],
                                                                 chunk_size)]
        return [process_func(data.iloc[i:i + chunk_size])
                for i in range(0, len(data), chunk_size)]

    def split_time_series(self, name, n_splits=5, test_size=0.2, gap=0,
                          strategy="expanding"):
        info = self._info(name)
        if not info.time_column:
            raise DatasetError(f"Dataset '{info.name}' has no time column configured")
        table = "train" if "train" in info.tables else "data"
        df = self.load_table(info.name, table)
        return self.create_time_series_splits(df, info.time_column, n_splits, test_size,
                                              gap, strategy)

    @staticmethod
    def create_time_series_splits(data, time_column, n_splits=5, test_size=0.2, gap=0,
                                  strategy="expanding"):
        """[(train, test)] over rows sorted by time: each test window follows its
        train window after `gap` rows; `expanding` keeps the start, `sliding` moves it."""
        if strategy not in ("expanding", "sliding"):
            raise ValidationError("strategy must be 'expanding' or 'sliding'")
        df = data.sort_values(time_column, kind="stable").reset_index(drop=True)
        n = len(df)
        size = int(test_size * n / n_splits) if isinstance(test_size, float) else int(test_size)
        size = max(1, size)
        splits = []
        for k in range(n_splits):
            test_end = n - (n_splits - 1 - k) * size
            test_start = test_end - size
            train_end = test_start - gap
            if train_end <= 0:
                continue
            train_start = 0 if strategy == "expanding" else max(0, train_end - (n - n_splits * size - gap))
            splits.append((df.iloc[train_start:train_end], df.iloc[test_start:test_end]))
        return splits

    def __repr__(self):
        return f"MDMClient(home={self._catalog.home()!r})"
