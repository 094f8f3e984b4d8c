"""Machine-learning helpers: framework adapters and Kaggle submissions."""
import importlib
from pathlib import Path

import numpy as np
import pandas as pd

from ._mdm import DatasetError, ValidationError

FRAMEWORKS = ("sklearn", "pytorch", "tensorflow")
_MODULES = {"sklearn": "sklearn", "pytorch": "torch", "tensorflow": "tensorflow"}


def _importable(framework):
    try:
        importlib.import_module(_MODULES[framework])
        return True
    except ImportError:
        return False


class MLFrameworkAdapter:
    """Turns (X, y, ids) into what a framework takes. create("auto") picks sklearn."""

    framework = "sklearn"

    @staticmethod
    def create(framework="auto"):
        fw = (framework or "auto").lower()
        if fw in ("torch",):
            fw = "pytorch"
        if fw in ("tf", "keras"):
            fw = "tensorflow"
        if fw == "auto":
            fw = "sklearn"
        if fw not in FRAMEWORKS:
            raise ValidationError(f"Unknown framework '{framework}'. Must be one of: "
                                  f"auto, {', '.join(FRAMEWORKS)}")
        if fw != "sklearn" and not _importable(fw):
            raise ImportError(f"framework '{fw}' is not available: install "
                              f"{_MODULES[fw]} to use prepare_for_ml(framework='{fw}')")
        return {"sklearn": SklearnAdapter, "pytorch": PyTorchAdapter,
                "tensorflow": TensorFlowAdapter}[fw]()

    def prepare_data(self, X, y=None, ids=None, return_sparse=False):
        raise NotImplementedError


class SklearnAdapter(MLFrameworkAdapter):
    """scikit-learn takes DataFrames as they are: returns (X, y, ids)."""

    framework = "sklearn"

    def prepare_data(self, X, y=None, ids=None, return_sparse=False):
        if return_sparse:
            from scipy import sparse
            X = sparse.csr_matrix(X.select_dtypes(include=[np.number, bool]).to_numpy())
        return X, y, ids


class PyTorchAdapter(MLFrameworkAdapter):
    """A torch TensorDataset over the numeric features (and the target)."""

    framework = "pytorch"

    def prepare_data(self, X, y=None, ids=None, return_sparse=False):
        import torch
        from torch.utils.data import TensorDataset
        features = torch.tensor(X.select_dtypes(include=[np.number, bool])
                                .to_numpy(dtype=np.float32))
        if y is None:
            return TensorDataset(features)
        return TensorDataset(features, torch.tensor(np.asarray(y)))


class TensorFlowAdapter(MLFrameworkAdapter):
    """A tf.data.Dataset over the numeric features (and the target)."""

    framework = "tensorflow"

    def prepare_data(self, X, y=None, ids=None, return_sparse=False):
        import tensorflow as tf
        features = X.select_dtypes(include=[np.number, bool]).to_numpy(dtype=np.float32)
        if y is None:
            return tf.data.Dataset.from_tensor_slices(features)
        return tf.data.Dataset.from_tensor_slices((features, np.asarray(y)))


def write_submission(predictions, path, id_column, target_column, ids=None):
    """Writes `id_column,target_column` rows. `predictions` is a Series, an array or a
    DataFrame (holding the target column, and the IDs when `ids` is None)."""
    if isinstance(predictions, pd.DataFrame):
        if ids is None and id_column in predictions.columns:
            ids = predictions[id_column]
        if target_column in predictions.columns:
            predictions = predictions[target_column]
        elif predictions.shape[1] == 1:
            predictions = predictions.iloc[:, 0]
        else:
            raise ValidationError(f"predictions have no column '{target_column}'")
    values = np.asarray(predictions)
    if ids is None:
        raise DatasetError(f"No IDs for the submission: the test table has no column "
                           f"'{id_column}'")
    ids = np.asarray(ids)
    if len(ids) != len(values):
        raise ValidationError(f"{len(values)} predictions for {len(ids)} IDs")
    out = Path(path)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({id_column: ids, target_column: values}).to_csv(out, index=False)
    return out
