"""Рисунок графа ожидания (тема 04): кто какую блокировку ждёт и кто её держит.

Отчёт `LockMonitor` о взаимоблокировке — это текст про граф: поток → блокировка, которую он
ждёт → поток, который её держит. Глазом цикл видно сразу, поэтому рисуем тот же граф:
потоки — кружки, блокировки — квадраты, сплошная стрелка «ждёт», пунктирная «держит».
Цикл стрелок и есть взаимоблокировка. Без networkx: узлы по кругу, стрелки — `annotate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

THREAD_COLOR = "#4c72b0"
LOCK_COLOR = "#dd8452"


def plot_wait_for(cycle: Sequence[tuple[str, str, str]], title: str = "") -> Any:
    """Нарисовать цикл ожидания `[(поток, ждёт блокировку, которую держит поток), …]`.

    Такой список отдаёт `LockMonitor.find_cycle()` и хранит `LockMonitor.cycles`.
    Узлы идут по кругу в порядке цикла: поток, его блокировка, её владелец, … — так стрелки
    замыкаются в кольцо, и цикл виден без объяснений. Возвращает matplotlib Figure.
    """
    if not cycle:
        raise ValueError("plot_wait_for(): цикл пуст — взаимоблокировки не было, рисовать нечего.")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(5.5, 4.5))
    draw_wait_for(fig, cycle, title)
    fig.tight_layout()
    return fig


def draw_wait_for(fig: Any, cycle: Sequence[tuple[str, str, str]], title: str = "") -> Any:
    """Нарисовать граф ожидания на готовом рисунке `fig` (без pyplot — для рисунков к провалу)."""
    nodes: list[tuple[str, str]] = []  # (вид, имя) по кругу: поток, блокировка, поток, …
    for thread, lock, _holder in cycle:
        nodes += [("поток", thread), ("блокировка", lock)]
    angle = [math.pi / 2 - 2 * math.pi * i / len(nodes) for i in range(len(nodes))]
    where = [(math.cos(a), math.sin(a)) for a in angle]
    ax = fig.subplots()
    for (kind, name), (x, y) in zip(nodes, where, strict=True):
        thread = kind == "поток"
        ax.text(x, y, name, ha="center", va="center", fontsize=9, color="white",
                bbox={"boxstyle": "circle,pad=0.5" if thread else "square,pad=0.6",
                      "facecolor": THREAD_COLOR if thread else LOCK_COLOR, "edgecolor": "none"})
    for i in range(len(nodes)):
        (x0, y0), (x1, y1) = where[i], where[(i + 1) % len(nodes)]
        waits = nodes[i][0] == "поток"  # поток → блокировка: ждёт; блокировка → поток: держится им
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "linestyle": "-" if waits else "--",
                                "shrinkA": 28, "shrinkB": 28, "color": "black", "lw": 1.3})
        ax.text((x0 + x1) / 2 * 1.18, (y0 + y1) / 2 * 1.18, "ждёт" if waits else "её держит",
                ha="center", va="center", fontsize=8, color="dimgray")
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "Граф ожидания: цикл стрелок — взаимоблокировка", fontsize=10)
    return fig
