"""Column arrays from the C extension into pandas objects, without copying the data.

The extension hands over (name, mdm type, values, mask, categories) per column: NumPy
arrays whose memory was filled in C. pandas' DataFrame(dict) would stack same-typed
columns into one 2-D block (a copy of everything); instead each column becomes its own
block over the same memory.
"""
import numpy as np
import pandas as pd

try:  # pandas' block API (what pyarrow's to_pandas uses)
    from pandas.core.internals import BlockManager as _BlockManager
    from pandas.core.internals.api import make_block as _make_block
except ImportError:  # pragma: no cover - other pandas layouts fall back to a copy
    _BlockManager = None
    _make_block = None


def column_array(col, nullable=False):
    """One column tuple from the extension as a NumPy or pandas extension array."""
    _name, mdm_type, values, mask, categories = col
    if categories is not None:
        return pd.Categorical.from_codes(values, categories=pd.Index(categories, dtype=object))
    if not nullable:
        return values
    n = len(values)
    if mask is None:
        mask = np.zeros(n, dtype=bool)
    if mdm_type == "int64":
        return pd.arrays.IntegerArray(values, mask)
    if mdm_type == "float64":
        return pd.arrays.FloatingArray(values, mask)
    if mdm_type == "bool":
        return pd.arrays.BooleanArray(values, mask)
    if mdm_type == "text":
        return pd.arrays.StringArray(values)
    return values


def _from_blocks(names, arrays, nrows):
    blocks = []
    for i, arr in enumerate(arrays):
        if isinstance(arr, np.ndarray):
            blocks.append(_make_block(arr.reshape(1, -1), placement=[i]))
        else:
            blocks.append(_make_block(arr, placement=[i], ndim=2))
    axes = [pd.Index(names, dtype=object), pd.RangeIndex(nrows)]
    mgr = _BlockManager(blocks, axes, verify_integrity=False)
    if hasattr(pd.DataFrame, "_from_mgr"):
        return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)
    return pd.DataFrame(mgr)


def frame(columns, nullable=False):
    """A DataFrame from the extension's column list (each column its own block)."""
    names = [c[0] for c in columns]
    arrays = [column_array(c, nullable) for c in columns]
    nrows = len(arrays[0]) if arrays else 0
    if _make_block is not None and arrays:
        try:
            return _from_blocks(names, arrays, nrows)
        except Exception:  # pragma: no cover - an unexpected pandas: correctness first
            pass
    df = pd.DataFrame({i: a for i, a in enumerate(arrays)}, copy=False)
    df.columns = pd.Index(names, dtype=object)
    return df


def series(col, nullable=False):
    """One column tuple as a Series named after the column."""
    return pd.Series(column_array(col, nullable), name=col[0], copy=False)
