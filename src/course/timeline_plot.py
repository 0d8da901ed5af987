"""Рисунок записи `course.timeline`: диаграмма Ганта «кто работал и когда».

Одна дорожка — один исполнитель (поток, процесс, задача asyncio, гринлет), в порядке первого
появления. Тёмный широкий отрезок — работает, светлый узкий — ждёт (так их различит и
чёрно-белая печать). Цвет — это состояние, а не нагрузка: сколько процессора отрезок получил
на самом деле, показывает отдельная оранжевая полоска внизу отрезка (её длина — доля
процессорного времени) и процент в подписи. Так на занятой машине счёт, которому досталась
малая доля ядра, не выглядит ожиданием: он тёмный, но с короткой полоской.
Несколько записей рисуются друг под другом на общей оси времени в мс:
одинаковая длина оси делает «последовательно / потоки / процессы» сравнимыми на глаз.
В заголовке каждой записи — время по часам и процессорное время.

Отдельный модуль, чтобы `course.timeline` (запись) не тянул matplotlib в дочерние процессы.
"""

from __future__ import annotations

from typing import Any

from course.timeline import RUNNING, WAITING, Recording, Span, TimelineError

RUN_COLOR = "#1f5fa8"
WAIT_COLOR = "#a9c8ec"
CPU_COLOR = "#f28e2b"
LANE_INCHES = 0.32
NAME_CHARS = 26
FONT = 8


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _caption(rec: Recording, shown: int, total: int) -> str:
    head = rec.title or "запись"
    caption = f"{head}: по часам {rec.wall * 1000:.0f} мс, процессор {rec.cpu * 1000:.0f} мс"
    if shown < total:
        caption += f" (показаны первые {shown} из {total} исполнителей)"
    return caption


def _cpu_share(s: Span) -> float | None:
    """Доля процессорного времени отрезка (0..1) или None, если она не записана."""
    if s.cpu is None or s.end <= s.start:
        return None
    return min(s.cpu / (s.end - s.start), 1.0)


def _bar_text(s: Span) -> str:
    share = _cpu_share(s) or 0.0
    return f"{s.label} {100 * share:.0f}%" if share >= 0.05 else s.label


def plot_timeline(
    *recordings: Recording,
    title: str = "",
    max_lanes: int = 24,
    width: float = 10.0,
) -> Any:
    """Нарисовать одну или несколько записей; вернуть matplotlib Figure.

    `plot_timeline(seq, thr, proc, title="Рисунок 2")` — записи друг под другом на общей оси.
    В JupyterLab рисунок появится под ячейкой сам; сохранить: `fig.savefig("t.png")` или
    `"t.svg"`. Исполнителей больше `max_lanes` — показываются первые (рисунок остаётся читаемым).
    Отрезок «работает» с известным процессорным временем несёт внизу оранжевую полоску: её
    длина — доля процессора (во всю длину — считал всё время; у потоков под GIL и на занятой
    машине короче); та же доля — процентом в подписи.
    Пустая, ещё открытая запись или отрезок с концом раньше начала → TimelineError.
    """
    if not recordings:
        raise TimelineError("plot_timeline(): передайте хотя бы одну запись — plot_timeline(rec).")
    for rec in recordings:
        if not isinstance(rec, Recording):
            raise TimelineError(
                f"plot_timeline() ждёт записи record(), а получила {type(rec).__name__}: "
                "передайте `rec` из `with record() as rec:`."
            )
        rec.check()

    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    lanes = [rec.workers[:max_lanes] for rec in recordings]
    heights = [max(len(names), 1) * LANE_INCHES + 0.7 for names in lanes]
    fig, axes = plt.subplots(
        len(recordings),
        1,
        figsize=(width, sum(heights) + (0.5 if title else 0.2)),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
    )
    span_ms = max(max(rec.wall or 0.0, max(s.end for s in rec.spans)) for rec in recordings) * 1000
    span_ms = max(span_ms, 1e-3)  # все отрезки нулевой длины — ось хотя бы в микросекунду
    ms_per_inch = span_ms / max(width - 2.2, 1.0)
    thinnest = ms_per_inch * 1.5 / 72  # шаг задачи в микросекунды — хотя бы штрих в 1.5 pt
    for ax, rec, names in zip(axes[:, 0], recordings, lanes, strict=True):
        row = {name: i for i, name in enumerate(names)}
        runs: dict[int, list[tuple[float, float]]] = {}
        waits: dict[int, list[tuple[float, float]]] = {}
        cpu_bars: dict[int, list[tuple[float, float]]] = {}
        for s in rec.spans:
            if s.worker not in row:
                continue
            start = max(s.start, 0.0) * 1000
            bar = (start, max(s.end * 1000 - start, thinnest if s.kind == RUNNING else 0.0))
            (runs if s.kind == RUNNING else waits).setdefault(row[s.worker], []).append(bar)
            share = _cpu_share(s)
            if s.kind == RUNNING and share is not None and share * bar[1] > 0:
                cpu_bars.setdefault(row[s.worker], []).append((start, share * bar[1]))
            fits = [text for text in (_bar_text(s), s.label)
                    if text and bar[1] / ms_per_inch * 72 > len(text) * FONT * 0.62]
            if fits:  # подпись с долей процессора, без неё — или никакой, если не влезает
                dark = s.kind == RUNNING
                ax.text(start + bar[1] / 2, row[s.worker], fits[0], ha="center", va="center",
                        fontsize=FONT, color="white" if dark else "#143d6b", clip_on=True)
        for i, bars in waits.items():
            ax.broken_barh(bars, (i - 0.17, 0.34), facecolors=WAIT_COLOR, edgecolor="none")
        for i, bars in runs.items():
            ax.broken_barh(bars, (i - 0.36, 0.72), facecolors=RUN_COLOR, edgecolor="white",
                           linewidth=0.3)
        for i, bars in cpu_bars.items():
            ax.broken_barh(bars, (i + 0.22, 0.14), facecolors=CPU_COLOR, edgecolor="none")
        ax.set_yticks(range(len(names)), [_short(n, NAME_CHARS) for n in names], fontsize=FONT)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_title(_caption(rec, len(names), len(rec.workers)), fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_xlim(0, span_ms * 1.02)
    axes[-1, 0].set_xlabel("время от начала записи, мс")
    axes[0, 0].legend(
        handles=[Patch(color=RUN_COLOR, label="работает"), Patch(color=WAIT_COLOR, label="ждёт"),
                 Patch(color=CPU_COLOR, label="доля процессора (длина полоски)")],
        loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, fontsize=FONT, frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


__all__ = ["plot_timeline", "TimelineError", "RUNNING", "WAITING"]
