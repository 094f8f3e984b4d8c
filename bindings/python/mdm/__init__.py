"""mdm — the ML Data Manager, for Python.

    import mdm
    client = mdm.MDMClient()
    client.register_dataset("titanic", "data/titanic", target_column="Survived")
    X, y, ids = client.load_dataset("titanic")

The data goes from the engine (SQLite, DuckDB, PostgreSQL) into NumPy/pandas memory in
C. The command line and this package share one catalog: what one registers, the other
sees.
"""
from . import _mdm
from ._mdm import (BackendError, ConfigError, DatasetError, ExportError,
                   FeatureEngineeringError, MDMError, StorageError, ValidationError)
from .client import MDMClient
from .config import Config, get_config
from .ml import MLFrameworkAdapter
from .models import DatasetInfo

__version__ = _mdm.version()


def load_dataset(name, **kwargs):
    """(train, test) DataFrames of a dataset (test is None when it has none; a
    single-table dataset gives its table as train)."""
    files = MDMClient().load_dataset_files(name, include_features=False, **kwargs)
    train = files.get("train", files.get("data"))
    if train is None and len(files) == 1:
        train = next(iter(files.values()))
    return train, files.get("test")


def list_datasets(**kwargs):
    """Names of the registered datasets, newest first (see MDMClient.list_datasets)."""
    return [d.name for d in MDMClient().list_datasets(**kwargs)]


def get_dataset_info(name):
    """DatasetInfo of `name`, or None."""
    return MDMClient().get_dataset(name)


__all__ = ["MDMClient", "DatasetInfo", "Config", "MLFrameworkAdapter", "load_dataset",
           "list_datasets", "get_dataset_info", "get_config", "MDMError", "ConfigError",
           "StorageError", "DatasetError", "ValidationError", "BackendError",
           "ExportError", "FeatureEngineeringError", "__version__"]
