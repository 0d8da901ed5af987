"""Проверки для итогового обзора (тема 11): формат ответа видно сразу, верность — при оценке.

Зачем отдельный модуль: вопрос с вариантами легко «перебрать», если тест, который видит
студент, говорит «верно/неверно»: букв пять, подмножеств 32. Поэтому проверка разделена на две:

- `expect_letters`, `expect_letter`, `expect_number`, `expect_words`, `expect_choices` —
  *видимые* тесты: только формат («множество букв от a до e», «число», «список строк»).
  Они ловят опечатки, но ничего не говорят о правильности;
- `expect_right_letters`, `expect_right_letter`, `expect_right_number`, `expect_right_value` —
  *скрытые* тесты: сравнивают с верным ответом и, если он не совпал, объясняют по-русски,
  *почему* выбранный вариант неверен и что упущено.

Верных ответов здесь нет: их передают скрытые тесты ноутбука, которых в версии студента нет.
Не путать с `course.checks.expect_equal`: тот показывает ожидаемое значение сразу — для
вопроса с вариантами это и есть подсказка-ответ.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from course.checks import ExerciseFailure

__all__ = [
    "expect_choices",
    "expect_letter",
    "expect_letters",
    "expect_number",
    "expect_words",
    "expect_right_value",
    "expect_right_letter",
    "expect_right_letters",
    "expect_right_number",
]

LETTERS = "abcde"


def _fail(name: str, text: str) -> None:
    raise ExerciseFailure(f"{name}: {text}")


def expect_letters(value: object, name: str, options: str = LETTERS) -> None:
    """Видимая проверка: `value` — непустое множество букв из `options` (например, {"a", "c"})."""
    example = '{"' + options[0] + '", "' + options[-1] + '"}'
    if isinstance(value, str):
        _fail(name, f"нужно множество букв, а не строка {value!r}. Пример: {example}.")
    if not isinstance(value, (set, frozenset)):
        _fail(name, f"нужно множество букв (set), получено {type(value).__name__}. Пример: {example}.")
    bad = sorted(repr(item) for item in value if not (isinstance(item, str) and item in options))
    if bad:
        _fail(name, f"допустимы только буквы {', '.join(options)} строчными; лишнее: {', '.join(bad)}.")
    if not value:
        _fail(name, "множество пусто: хотя бы один вариант верен.")


def expect_letter(value: object, name: str, options: str = LETTERS) -> None:
    """Видимая проверка: `value` — одна буква из `options` (строка длины 1)."""
    if not (isinstance(value, str) and len(value) == 1 and value in options):
        _fail(name, f"нужна одна строчная буква из {', '.join(options)}, получено {value!r}.")


def expect_number(value: object, name: str) -> None:
    """Видимая проверка: `value` — конечное число (int или float, не bool и не строка)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(name, f"нужно число (int или float), получено {value!r} типа {type(value).__name__}.")


def expect_words(value: object, name: str, length: int | None = None) -> None:
    """Видимая проверка: `value` — список строк (и длины `length`, если она задана)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        _fail(name, f"нужен список строк, например ['x', 'y'], получено {value!r}.")
    if length is not None and len(value) != length:
        _fail(name, f"в списке должно быть {length} строк, а их {len(value)}.")


def expect_choices(value: object, name: str, keys: Collection[object], allowed: Collection[str]) -> None:
    """Видимая проверка: словарь с ключами ровно `keys` и значениями из `allowed`."""
    if not isinstance(value, dict):
        _fail(name, f"нужен словарь {{номер: ответ}}, получено {type(value).__name__}.")
    if set(value) != set(keys):
        _fail(name, f"ключи должны быть ровно {sorted(keys)}, а они {sorted(value, key=str)}.")
    bad = {key: choice for key, choice in value.items() if choice not in allowed}
    if bad:
        _fail(name, f"допустимые ответы: {', '.join(sorted(allowed))}; не подходят: {bad}.")


def expect_right_letters(
    value: object, correct: Collection[str], reasons: Mapping[str, str], name: str
) -> None:
    """Скрытая проверка множества букв: объяснить каждую лишнюю и каждую пропущенную букву.

    reasons — по одной короткой фразе на каждую букву: почему вариант верен или неверен.
    """
    expect_letters(value, name)
    chosen, right = set(value), set(correct)  # type: ignore[arg-type]
    if chosen == right:
        return
    lines = [f"{name}: ответ неверен."]
    for letter in sorted(chosen - right):
        lines.append(f"  ({letter}) выбран зря: {reasons.get(letter, 'этот вариант неверен')}")
    for letter in sorted(right - chosen):
        lines.append(f"  ({letter}) тоже верен: {reasons.get(letter, 'этот вариант верен')}")
    lines.append("Подробнее — в разборе под вопросом.")
    raise ExerciseFailure("\n".join(lines))


def expect_right_letter(value: object, correct: str, reasons: Mapping[str, str], name: str) -> None:
    """Скрытая проверка одной буквы: объяснить, чем плох выбранный вариант и чем хорош верный."""
    expect_letter(value, name)
    if value == correct:
        return
    wrong = reasons.get(str(value), "этот вариант неверен")
    raise ExerciseFailure(
        f"{name}: ответ неверен.\n  ({value}) не подходит: {wrong}\n"
        f"  ({correct}) верен: {reasons.get(correct, '')}\nПодробнее — в разборе под вопросом."
    )


def expect_right_number(value: object, expected: float, name: str, why: str, tolerance: float = 0.0) -> None:
    """Скрытая проверка числа: совпадение с точностью `tolerance`; иначе — объяснение `why`."""
    expect_number(value, name)
    if abs(float(value) - expected) <= tolerance:  # type: ignore[arg-type]
        return
    around = f" (±{tolerance:g})" if tolerance else ""
    raise ExerciseFailure(f"{name}: ожидалось {expected:g}{around}, получено {value!r}. {why}")


def expect_right_value(value: object, expected: object, name: str, why: str) -> None:
    """Скрытая проверка значения целиком (список, словарь, кортеж) с объяснением `why`."""
    if value == expected:
        return
    if isinstance(value, Mapping) and isinstance(expected, Mapping):
        wrong = sorted(key for key in expected if value.get(key) != expected[key])
        raise ExerciseFailure(f"{name}: неверно для пунктов {wrong}. {why}")
    raise ExerciseFailure(f"{name}: ожидалось {expected!r}, получено {value!r}. {why}")
