"""Скорость оценки класса: стоковый nbgrader против `course grade --jobs 1/2`.

Не тест (на загруженной машине время плавает), а замер, который запускают руками:

    .venv/bin/python benchmarks/grading_speed.py [--students 30]

Класс: половина — решения, половина — заготовки темы 01 (как в tests/badsubmissions.py).
Печатает секунды на работу и отношения, а ещё «нижнюю границу»: запуск ядра плюс время самих
упражнений (ячейки решений и тестов, со скрытыми) — то, без чего оценить работу нельзя.
Цели (issue 15, с песочницей и канарейками — `course grade` включает их всегда): `--jobs 2`
быстрее стока в ≥ 2 раза; работа при `--jobs 1` стоит не больше 1.3 × нижней границы.
Стоковый nbgrader здесь — без песочницы (как его запускают обычно). Печатает загрузку
машины: на двух общих ядрах под нагрузкой цифры не сравнимы с замером на свободной машине.

Замер 1 декабря, свободная машина (2 ядра, загрузка < 1.5), 30 работ, песочница namespaces:
сток 3.54 с/работа; `--jobs 1` 2.55 с = 1.25 нижней границы (2.05 с; цель ≤ 1.3 — есть);
`--jobs 2` 1.47 с = ×2.41 к стоку (цель ≥ 2 — есть). На 10 работах постоянная часть
(занести задание в базу ~2.6 с, запуск работников) заметнее: 1.52 нижней границы и ×1.67.
До исправления того же дня (в песочнице pid запасного ядра — это bwrap, и ядро под ним
убивалось уборкой после каждой работы: каждая платила холодный запуск ядра) было 4.99 с/работа
при `--jobs 1` и ×1.09 к стоку при `--jobs 2`. Цена песочницы и проверок (один ноутбук темы 01,
RobustExecute, загрузка 7–8): 6.8–7.3 с против 5.9–6.9 с без них, из них проверки ядра
0.2–0.35 с; запуск bubblewrap ~7 мс (см. sandbox_setup.py).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from badsubmissions import ASSIGNMENT, make_submission  # noqa: E402

from course.grading.grade import grade_class  # noqa: E402
from course.grading.release import CourseLayout  # noqa: E402

BIN = Path(sys.executable).parent


def build_class(root: Path, students: int) -> None:
    layout = CourseLayout(ROOT)
    make_submission(root, "good", layout.solutions, layout.notebooks)
    make_submission(root, "stub", layout.solutions, layout.notebooks)
    for i in range(students - 2):
        source = "good" if i % 2 else "stub"
        shutil.copytree(root / "submitted" / source, root / "submitted" / f"s{i:03d}")


def graded_cells_time(nb, kernel_start: list[float]) -> float:
    """Выполнить ноутбук как под проверкой; вернуть время ячеек с решениями и тестами."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(ROOT / "solutions" / ASSIGNMENT)}})
    spent = 0.0
    start = time.perf_counter()
    with client.setup_kernel():
        kernel_start.append(time.perf_counter() - start)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.metadata.get("nbgrader", {})
            began = time.perf_counter()
            client.execute_cell(cell, index)
            if meta.get("solution") or meta.get("grade"):
                spent += time.perf_counter() - began
    return spent


def floor_per_submission(students: int) -> tuple[float, float, float]:
    """(запуск ядра, упражнения решения, упражнения заготовки) — среднее по трём прогонам."""
    import nbformat

    os.environ["NBGRADER_EXECUTION"] = "autograde"
    solution = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    released = nbformat.read(ROOT / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in released.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    stub = copy.deepcopy(solution)
    for cell in stub.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in stubs:
            cell.source = stubs[grade_id]
    starts: list[float] = []
    good = [graded_cells_time(copy.deepcopy(solution), starts) for _ in range(3)]
    bad = [graded_cells_time(copy.deepcopy(stub), starts) for _ in range(3)]
    del os.environ["NBGRADER_EXECUTION"]
    return sum(starts) / len(starts), sum(good) / len(good), sum(bad) / len(bad)


def stock(root: Path) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    args = [
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.source_directory={ROOT / 'solutions'}",
        f"--CourseDirectory.release_directory={root / 'release'}",
        "--CourseDirectory.submitted_directory=submitted",
        "--CourseDirectory.autograded_directory=autograded-stock",
        f"--CourseDirectory.db_url=sqlite:///{root / 'stock.db'}",
    ]
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, *args, "--force"],
                   env=env, check=True, capture_output=True, cwd=root)
    # Стоковый исполнитель (не RobustExecute): так честнее сравнивать с «голым» nbgrader.
    stock_pp = [
        "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, *args, "--force",
         f"--Autograde.autograde_preprocessors={stock_pp!r}"],
        env=env, capture_output=True, cwd=root,
    )
    return time.perf_counter() - start


def ours(root: Path, jobs: int) -> float:
    for leftover in ["gradebook.db", f".course-grade-state-{ASSIGNMENT}.json"]:
        (root / leftover).unlink(missing_ok=True)
    start = time.perf_counter()
    grade_class(CourseLayout(ROOT), ASSIGNMENT, jobs=jobs, course_dir=root, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    n = parser.parse_args().students
    load_before = os.getloadavg()
    kernel, good, bad = floor_per_submission(n)
    floor = kernel + (good + bad) / 2  # в классе поровну решений и заготовок
    print(f"нижняя граница: ядро {kernel:.2f} с + упражнения (решение {good:.2f} с, заготовка "
          f"{bad:.2f} с) = {floor:.2f} с на работу в среднем", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_class(root, n)
        times = {"stock nbgrader autograde": stock(root)}
        print(f"stock: {times['stock nbgrader autograde']:.1f} с", flush=True)
        times["course grade --jobs 1"] = ours(root, 1)
        print(f"jobs 1: {times['course grade --jobs 1']:.1f} с", flush=True)
        times["course grade --jobs 2"] = ours(root, 2)
    base = times["stock nbgrader autograde"]
    print(f"{n} работ темы {ASSIGNMENT}, ядер: {os.cpu_count()}")
    for name, seconds in times.items():
        print(f"{name:28} {seconds:7.1f} с  {seconds / n:5.2f} с/работа  ×{base / seconds:4.2f} к стоку"
              f"  {seconds / n / floor:4.2f} нижней границы")
    from course.grading.sandbox import available_level

    print(f"песочница: {available_level()}; загрузка до/после: {load_before} / {os.getloadavg()}")
    print("цели: --jobs 2 быстрее стока ≥ 2×; --jobs 1 ≤ 1.3 нижней границы")


if __name__ == "__main__":
    main()
