"""Registration progress: tqdm bars when tqdm is installed (terminals and notebooks),
otherwise one updating line on stderr."""
import sys
import time


class Progress:
    """Callable given to the extension's register(progress=...)."""

    def __init__(self, stream=None):
        self._stream = stream or sys.stderr
        self._bars = {}
        self._last = 0.0
        try:
            from tqdm.auto import tqdm
            self._tqdm = tqdm
        except ImportError:
            self._tqdm = None

    def __call__(self, table, index, ntables, rows, bytes_done, bytes_total, elapsed,
                 finished):
        if self._tqdm is not None:
            bar = self._bars.get(table)
            if bar is None:
                bar = self._tqdm(total=bytes_total or None, unit="B", unit_scale=True,
                                 desc=f"{table} ({index + 1}/{ntables})", leave=True)
                self._bars[table] = bar
            if bytes_total:
                bar.update(max(0, bytes_done - bar.n))
            bar.set_postfix_str(f"{rows:,} rows", refresh=False)
            if finished:
                if bytes_total:
                    bar.update(max(0, bytes_total - bar.n))
                bar.close()
            return
        now = time.monotonic()
        if not finished and now - self._last < 0.2:
            return
        self._last = now
        pct = f" {100.0 * bytes_done / bytes_total:5.1f}%" if bytes_total else ""
        line = f"\rLoading {table} ({index + 1}/{ntables}):{pct} {rows:,} rows {elapsed:.1f}s"
        self._stream.write(line + ("\n" if finished else ""))
        self._stream.flush()

    def close(self):
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
