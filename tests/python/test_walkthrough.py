"""docs/PYTHON.md's Kaggle walk-through runs as written: its ```python blocks, in order,
in one interpreter, in a directory holding the competition folder `playground/`."""
import os
import re
import subprocess
import sys

import pandas as pd

from conftest import kaggle_folder

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PYTHON.md")


def test_walkthrough(home, tmp_path, backend):
    with open(DOC, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) >= 4
    work = tmp_path / "work"
    kaggle_folder(work / "playground", n_train=400, n_test=150)
    script = work / "walkthrough.py"
    script.write_text("\n".join(blocks))
    proc = subprocess.run([sys.executable, str(script)], cwd=work, capture_output=True,
                          text=True, env=dict(os.environ), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playground Survived ['PassengerId'] binary_classification" in proc.stdout
    sub = pd.read_csv(work / "submission.csv")
    assert list(sub.columns) == ["PassengerId", "Survived"]
    assert sub["PassengerId"].tolist() == list(range(401, 551))
    assert set(sub["Survived"]) <= {0, 1}
