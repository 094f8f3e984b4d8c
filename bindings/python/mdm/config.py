"""mdm's configuration as Python sees it: defaults < <home>/mdm.yaml < MDM_* environment,
exactly as the command line reads it (libmdm does the reading)."""
from . import _mdm


def _value(text):
    if text in ("null", "~", ""):
        return None
    if text in ("true", "false"):
        return text == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


class _Section:
    def __init__(self, items):
        self.__dict__.update(items)

    def __repr__(self):
        return f"{type(self).__name__}({self.__dict__!r})"


class Config:
    """Read-only view of the configuration: `cfg.database.default_backend`,
    `cfg.get("performance.batch_size")`, `cfg.home`, `cfg.to_dict()`."""

    def __init__(self, catalog):
        self._items = {k: _value(v) for k, v in catalog.config_items(True)}
        self.home = catalog.home()
        tree = {}
        for key, value in self._items.items():
            node = tree
            parts = key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        self._tree = tree
        for name, sub in tree.items():
            setattr(self, name, self._wrap(sub))

    def _wrap(self, node):
        if isinstance(node, dict):
            return _Section({k: self._wrap(v) for k, v in node.items()})
        return node

    def get(self, key, default=None):
        return self._items.get(key, default)

    def to_dict(self):
        return dict(self._items)

    def __repr__(self):
        return f"Config(home={self.home!r})"


def get_config(home=None):
    """The configuration of the mdm home (None: $MDM_HOME_DIR or ~/.mdm)."""
    return Config(_mdm.Catalog(home))
