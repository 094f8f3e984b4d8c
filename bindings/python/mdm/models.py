"""DatasetInfo: a dataset's record, with the Python mdm's attribute names."""
import json
from datetime import datetime
from pathlib import Path

_FIELDS = ("name", "display_name", "description", "database", "tables", "problem_type",
           "target_column", "id_columns", "time_column", "group_column", "feature_tables",
           "registered_at", "last_updated_at", "tags", "source", "version", "metadata")


def _time(value):
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class DatasetInfo:
    """The catalog's record of a dataset (registry YAML / dataset_info.json).

    Attributes as in the Python mdm: name, display_name, description, database (dict:
    backend, path or host/port/database/user; never a password), tables ({kind: table}),
    problem_type, target_column, id_columns, time_column, group_column, feature_tables,
    registered_at / last_updated_at (datetime, UTC), tags, source, version, metadata.
    """

    __slots__ = _FIELDS + ("_raw",)

    def __init__(self, **fields):
        self._raw = dict(fields)
        for key in _FIELDS:
            setattr(self, key, fields.get(key))
        self.database = dict(self.database or {})
        self.tables = dict(self.tables or {})
        self.feature_tables = dict(self.feature_tables or {})
        self.id_columns = list(self.id_columns or [])
        self.tags = list(self.tags or [])
        self.metadata = dict(self.metadata or {})
        self.version = self.version or "1.0.0"
        self.registered_at = _time(self.registered_at)
        self.last_updated_at = _time(self.last_updated_at)

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))

    @property
    def has_train_test_split(self):
        return "train" in self.tables and "test" in self.tables

    @property
    def has_validation(self):
        return "validation" in self.tables

    @property
    def backend(self):
        return self.database.get("backend")

    @property
    def row_count(self):
        stats = self.metadata.get("statistics") or {}
        return stats.get("row_count")

    @property
    def memory_size_bytes(self):
        stats = self.metadata.get("statistics") or {}
        return stats.get("memory_size_bytes")

    def get_database_path(self):
        path = self.database.get("path")
        return Path(path).expanduser() if path else None

    def get_connection_string(self):
        return self.database.get("connection_string")

    def model_dump(self):
        """The record as a dict (pydantic's name in the Python mdm)."""
        out = dict(self._raw)
        for key in _FIELDS:
            value = getattr(self, key)
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    dict = model_dump
    to_dict = model_dump

    def __eq__(self, other):
        return isinstance(other, DatasetInfo) and self.model_dump() == other.model_dump()

    def __repr__(self):
        return (f"DatasetInfo(name={self.name!r}, backend={self.backend!r}, "
                f"tables={self.tables!r}, target_column={self.target_column!r}, "
                f"problem_type={self.problem_type!r})")
