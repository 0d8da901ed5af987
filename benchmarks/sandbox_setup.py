"""Сколько стоит песочница одной работы (цель issue 15: ≤ 50 мс).

Не тест, а замер, который запускают руками:

    .venv/bin/python benchmarks/sandbox_setup.py [--runs 30]

Меряет медиану (и худший из прогонов) трёх вещей:
- запуск процесса в песочнице bubblewrap с теми же аргументами, что у ядра при проверке,
  минус запуск того же процесса без неё (`/bin/true`): цена пространств имён и монтирования;
- создание и удаление папки песочницы;
- раскладку файлов работы в домашнюю папку уже запущенной песочницы (`populate` через
  /proc/<pid>/root: ноутбук темы 01 без скрытых тестов).
Печатает и загрузку машины: на двух общих ядрах цифры плавают.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from course.grading.sandbox import NAMESPACES, Sandbox, available_level  # noqa: E402


def timed(func, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        func()
        out.append(time.perf_counter() - began)
    return out


def report(name: str, seconds: list[float]) -> None:
    median, worst = statistics.median(seconds) * 1000, max(seconds) * 1000
    print(f"{name:52} медиана {median:7.1f} мс   худший {worst:7.1f} мс")


def main() -> None:
    import nbformat

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    level = available_level()
    print(f"уровень изоляции: {level}; загрузка: {os.getloadavg()}")
    plain = timed(lambda: subprocess.run(["/bin/true"], check=True), runs)
    report("/bin/true без песочницы", plain)
    if level == NAMESPACES:
        box = Sandbox(level)
        command = box.wrap(["/bin/true"], dict(os.environ))
        wrapped = timed(lambda: subprocess.run(command, check=True), runs)
        report("/bin/true в песочнице (те же аргументы, что у ядра)", wrapped)
        extra = [w - p for w, p in zip(sorted(wrapped), sorted(plain), strict=True)]
        report("цена песочницы при запуске", extra)
        box.destroy()
    report("папка песочницы: создать и удалить", timed(lambda: Sandbox(level).destroy(), runs))
    nb = nbformat.read(ROOT / "solutions" / "01-basics" / "01-basics.ipynb", as_version=4)
    box = Sandbox(level)
    keeper = None
    if level == NAMESPACES:
        keeper = subprocess.Popen(box.wrap(["sleep", "600"], dict(os.environ)))
        box.kernel_pid = keeper.pid
        while True:
            try:
                box.inside()
                break
            except RuntimeError:
                time.sleep(0.01)
    folder = ROOT / "notebooks" / "01-basics"
    box.populate(str(folder), nb, "01-basics.ipynb")  # разогрев: импорт nbgrader, как у работника
    lay_out = timed(lambda: box.populate(str(folder), nb, "01-basics.ipynb"), runs)
    report("разложить файлы работы в песочницу", lay_out)
    if keeper is not None:
        keeper.kill()
        keeper.wait()
    box.destroy()
    print(f"Python {sys.version.split()[0]}, ядер: {os.cpu_count()}; цель: песочница ≤ 50 мс на работу")


if __name__ == "__main__":
    main()
