"""Корпус ответов студентов: неверные теряют баллы (с нужной подсказкой), верные — нет.

Варианты — в `tests/corpus/tNN_*.py`, прогон — `tests/corpus/runner.py` (одно ядро на
ноутбук). Итог по каждому ноутбуку пишется в `build/corpus/<ноутбук>.json`, рисунки к
провалу (#20) — в `build/corpus/pictures/<ноутбук>/<упражнение>.<вариант>.<тест>.png`.
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, ROOT
from corpus.runner import exercise_tests, notebook_steps, run_corpus

CORPUS_DIR = Path(__file__).parent / "corpus"
MODULES = sorted(p.stem for p in CORPUS_DIR.glob("t[0-9][0-9]_*.py"))
MIN_WRONG, MIN_VALID = 3, 1


def load(module: str):
    return importlib.import_module(f"corpus.{module}")


def _report(notebook: str, outcomes) -> None:
    out = ROOT / "build" / "corpus"
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {"variant": o.variant.label, "valid": o.variant.valid, "full_marks": o.full_marks,
         "failed": sorted(o.failed), "problem": o.problem()}
        for o in outcomes
    ]
    (out / f"{notebook}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    pictures = out / "pictures" / notebook  # рисунки к провалу (#20): посмотреть глазами
    shutil.rmtree(pictures, ignore_errors=True)
    for o in outcomes:
        for pic in o.pictures:
            pictures.mkdir(parents=True, exist_ok=True)
            (pictures / f"{o.variant.exercise}.{o.variant.name}.{pic['test']}.png").write_bytes(pic["png"])


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_wrong_answers_lose_points_and_valid_ones_do_not(module: str) -> None:
    corpus = load(module)
    outcomes, problems = run_corpus(corpus.NOTEBOOK, corpus.VARIANTS)
    _report(corpus.NOTEBOOK, outcomes)
    problems += [p for o in outcomes if (p := o.problem())]
    assert not problems, "\n\n".join(problems)


def test_every_exercise_has_its_corpus() -> None:
    """У каждого упражнения не меньше 3 неверных ответов и 1 верной альтернативы."""
    variants: dict[str, list] = {}
    for module in MODULES:
        corpus = load(module)
        for v in corpus.VARIANTS:
            variants.setdefault(f"{corpus.NOTEBOOK}:{v.exercise}", []).append(v)
    missing = []
    for notebook in ASSIGNMENTS:
        for exercise in exercise_tests(notebook_steps(notebook)):
            got = variants.get(f"{notebook}:{exercise}", [])
            wrong, valid = sum(not v.valid for v in got), sum(v.valid for v in got)
            if wrong < MIN_WRONG or valid < MIN_VALID:
                missing.append(f"{notebook}:{exercise} (неверных {wrong}, верных {valid})")
    assert not missing, "корпус неполон:\n" + "\n".join(missing)


def test_failure_pictures_cover_at_least_twelve_exercises_in_topics_02_to_09() -> None:
    """Рисунок к провалу (#20) обещан корпусом — `Variant(picture=...)` — хотя бы у 12 упражнений 02–09.

    Сам корпус (test_wrong_answers_lose_points_and_valid_ones_do_not) проверяет, что у такого
    неверного ответа рисунок нужного вида правда появляется, а у верных его нет.
    """
    pictured = set()
    for module in MODULES:
        corpus = load(module)
        if "02" <= corpus.NOTEBOOK[:2] <= "09":
            pictured |= {f"{corpus.NOTEBOOK}:{v.exercise}" for v in corpus.VARIANTS if v.picture}
    assert len(pictured) >= 12, sorted(pictured)
