"""Скорость вердиктов о гонках и взаимоблокировках (course.race_checks), на которых стоят тесты тем 02 и 04.

Не тест (время на общей машине плавает), а замер, который запускают руками:

    .venv/bin/python benchmarks/race_checks.py [--runs 50]

Те же четыре вердикта, что в `tests/test_race_checks.py::test_zero_false_verdicts_with_busy_core`:
счётчик без блокировки (гонка поймана), с блокировкой (гонки нет), встречные переводы
(взаимоблокировка найдена), переводы в одном порядке (закончились). Печатаются медиана и
худший из повторов для каждого и верные ли вердикты. Цель: медиана вердикта ≤ 0,15 с, то есть
50 повторов всех четырёх — не дольше 30 с на свободной машине; ячейка теста с десятком вердиктов
укладывается в секунды.

Замер 1 декабря, 2 ядра, 50 повторов, медианы: 11,5 / 44,7 / 61,5 / 102 мс (цель выполнена), ни
одного неверного вердикта. С четырьмя занятыми циклами на тех же ядрах те же 50 повторов
заняли в тесте 33,6 с — поэтому время и вынесено сюда из теста.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_race_checks import (  # noqa: E402
    Counter,
    LockedCounter,
    opposite_transfers,
    race,
    transfer_naive,
    transfer_ordered,
)

VERDICTS: dict[str, tuple[Callable[[], bool], bool]] = {
    # имя: (вердикт «проблема найдена», верный ответ)
    "гонка без блокировки": (lambda: race(Counter).caught, True),
    "гонка с блокировкой": (lambda: race(LockedCounter).caught, False),
    "встречные переводы": (lambda: opposite_transfers(transfer_naive)[0].deadlock is not None, True),
    "переводы по порядку": (lambda: not opposite_transfers(transfer_ordered)[0].finished, False),
}
TARGET = 0.15


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    worst_median = 0.0
    for name, (verdict, right) in VERDICTS.items():
        times, wrong = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            wrong += verdict() != right
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        print(f"{name:24} медиана {median * 1000:6.1f} мс, худший {max(times) * 1000:6.1f} мс, "
              f"неверных вердиктов {wrong} из {args.runs}")
    met = "выполнена" if worst_median <= TARGET else "НЕ выполнена"
    print(f"Python {sys.version.split()[0]}, ядер: {os.cpu_count()}, загрузка в начале {load:.1f}; "
          f"цель: медиана ≤ {TARGET * 1000:.0f} мс — {met}")


if __name__ == "__main__":
    main()
