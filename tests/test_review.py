"""course.review: видимые проверки формата и скрытые проверки с объяснениями (тема 11)."""

from __future__ import annotations

import pytest

from course.checks import ExerciseFailure
from course.review import (
    expect_choices,
    expect_letter,
    expect_letters,
    expect_number,
    expect_right_letter,
    expect_right_letters,
    expect_right_number,
    expect_right_value,
    expect_words,
)


@pytest.mark.parametrize("good", [{"a"}, {"b", "e"}, frozenset("abcde")])
def test_expect_letters_accepts_sets_of_letters(good) -> None:
    expect_letters(good, "answer")


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [("ab", "не строка"), (["a"], "list"), ({"A"}, "строчными"), ({"f"}, "лишнее"), (set(), "пусто")],
)
def test_expect_letters_rejects_wrong_format_in_russian(bad, fragment) -> None:
    with pytest.raises(ExerciseFailure, match=fragment):
        expect_letters(bad, "answer")


def test_expect_letter_number_words_choices() -> None:
    expect_letter("c", "q")
    expect_number(0, "q")
    expect_number(0.4, "q")
    expect_words(["a", "b"], "q", length=2)
    expect_choices({1: "x", 2: "y"}, "q", keys=[1, 2], allowed={"x", "y"})
    for call in (
        lambda: expect_letter("ab", "q"),
        lambda: expect_number(True, "q"),
        lambda: expect_number("3", "q"),
        lambda: expect_number(float("nan"), "q"),
        lambda: expect_words(["a"], "q", length=2),
        lambda: expect_words("ab", "q"),
        lambda: expect_choices({1: "x"}, "q", keys=[1, 2], allowed={"x"}),
        lambda: expect_choices({1: "z", 2: "x"}, "q", keys=[1, 2], allowed={"x"}),
    ):
        with pytest.raises(ExerciseFailure):
            call()


def test_expect_right_letters_explains_extra_and_missing() -> None:
    reasons = {"a": "потому что A", "b": "потому что B", "c": "потому что C"}
    expect_right_letters({"a", "c"}, {"a", "c"}, reasons, "q")
    with pytest.raises(ExerciseFailure) as info:
        expect_right_letters({"a", "b"}, {"a", "c"}, reasons, "q")
    text = str(info.value)
    assert "(b) выбран зря: потому что B" in text
    assert "(c) тоже верен: потому что C" in text
    assert "(a)" not in text


def test_grade_letter_number_equal() -> None:
    expect_right_letter("b", "b", {}, "q")
    with pytest.raises(ExerciseFailure, match=r"\(a\) не подходит: плохо"):
        expect_right_letter("a", "b", {"a": "плохо", "b": "хорошо"}, "q")
    expect_right_number(0.42, 0.4, "q", "почему", tolerance=0.05)
    with pytest.raises(ExerciseFailure, match="почему"):
        expect_right_number(0.6, 0.4, "q", "почему", tolerance=0.05)
    expect_right_value(["x"], ["x"], "q", "")
    with pytest.raises(ExerciseFailure, match=r"пунктов \[2\]"):
        expect_right_value({1: "a", 2: "b"}, {1: "a", 2: "c"}, "q", "")
    with pytest.raises(ExerciseFailure, match="ожидалось"):
        expect_right_value(["y"], ["x"], "q", "")
