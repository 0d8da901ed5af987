"""Python окружения теста, который может запустить любой пользователь.

Окружение теста может стоять на Python из закрытой папки (pyenv в /root, 0700); на сервере
класса среда пользователей открыта всем (/opt/tljh/user). Тогда — venv из системного python3
той же версии, который видит пакеты окружения теста, с теми же консольными командами.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def world_venv(where: Path) -> Path | None:
    """Папка bin такого venv в `where` (None, если системного Python той же версии нет)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if system is None:
        return None
    venv = where / "world-venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (venv / "lib" / version / "site-packages" / "course-env.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n", encoding="utf-8")
    for script in BIN.iterdir():  # консольные команды окружения — с Python этого venv
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        head = script.read_bytes()[:200]
        if head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]:
            body = script.read_text(encoding="utf-8").split("\n", 1)[1]
            target.write_text(f"#!{venv / 'bin' / 'python'}\n{body}", encoding="utf-8")
            target.chmod(0o755)
    (venv / "share").symlink_to(BIN.parent / "share")  # шаблоны nbconvert для отзывов, kernelspec
    venv.chmod(0o755)
    return venv / "bin"
