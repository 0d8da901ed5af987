"""ruff: код пакета, тесты и ноутбуки-решения чисты."""

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_ruff_clean() -> None:
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
