"""Рисунок к проваленной проверке: что сделал код студента и как должно было быть.

Зачем: сообщение «запросы шли по очереди» верно, но его приходится принимать на веру. Рисунок
показывает *этот* прогон — дорожки потоков, задач, запросов, — а рядом форму, которой ждёт
упражнение, и отмечает место, где всё пошло не так. Рисунок строится только при провале
проверки о конкурентности (последовательное выполнение, блокировка цикла, гонка,
взаимоблокировка, потерянные элементы, превышенный предел); при неверном значении рисунка нет.

Как это работает. Проверка собирает данные прогона дёшево (кортежи в список) и при провале
создаёт `FailurePicture`: подпись, данные (их читают тесты курса) и функцию рисования.
`fail()` рисует PNG (не больше `MAX_PNG_BYTES`), показывает его под ячейкой-тестом
(`display_data` с пометкой `course_picture` в metadata — по ней `course check` сохраняет файл
рядом с ноутбуком, а в отзыве nbgrader он виден как картинка) и поднимает ExerciseFailure.
Любая ошибка рисования проглатывается: рисунок — пояснение, на балл он не влияет.

Выключить рисунки (скажем, для замера их цены при оценке класса): COURSE_FAILURE_PICTURES=0.

Рисунок не раскрывает скрытые тесты: на нём только дорожки прогона (имена потоков и задач из
кода студента, «запрос 1», «запрос 2»…) и время, без адресов, аргументов и кода теста.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from course.checks import ExerciseFailure

Bar = tuple[str, float, float, str]  # (дорожка, начало, конец, вид или подпись)
MAX_PNG_BYTES = 150_000  # рисунок в отзыве и в ноутбуке — не больше
MAX_LANES = 12  # дорожек на рисунке; остальные — подписью «ещё N …»
METADATA_KEY = "course_picture"  # пометка display_data: это рисунок к провалу проверки
DPI_STEPS = (90, 70, 50)  # не влез в MAX_PNG_BYTES — рисуем мельче
SWITCH = "COURSE_FAILURE_PICTURES"  # "0" — не рисовать (например, замер цены рисунков при оценке)


@dataclass
class FailurePicture:
    """Рисунок к провалу: вид, подпись в одну строку, данные прогона и функция рисования.

    kind — что нарушено: "sequential" (шло по очереди), "limit" (превышен предел),
    "blocked" (цикл событий заблокирован), "race" (потерянное обновление), "deadlock"
    (цикл ожидания), "items" (элементы потерялись или повторились).
    data — то, что нарисовано (дорожки, отмеченный отрезок): по нему тесты курса проверяют
    рисунок, не разглядывая пиксели. draw() возвращает matplotlib Figure.
    """

    kind: str
    caption: str
    draw: Callable[[], Any]
    data: dict[str, Any] = field(default_factory=dict)

    def png(self) -> bytes | None:
        """PNG не больше MAX_PNG_BYTES или None (не вышло нарисовать — не беда)."""
        try:
            fig = self.draw()
            for dpi in DPI_STEPS:
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", dpi=dpi)
                if buffer.tell() <= MAX_PNG_BYTES:
                    return buffer.getvalue()
            return None
        except Exception:  # noqa: BLE001 — сбой рисования не должен менять вердикт
            return None


def show(picture: FailurePicture | None) -> bytes | None:
    """Показать рисунок под текущей ячейкой (если это ядро IPython); вернуть PNG или None."""
    if picture is None or os.environ.get(SWITCH, "1") == "0":
        return None
    png = picture.png()
    if png is None:
        return None
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            data = json.loads(json.dumps(picture.data, ensure_ascii=False, default=repr))
            display(
                {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": picture.caption},
                raw=True,
                metadata={METADATA_KEY: {"kind": picture.kind, "caption": picture.caption, "data": data}},
            )
    except Exception:  # noqa: BLE001 — нет IPython или сбой вывода: вердикт тот же
        pass
    return png


def fail(message: str, picture: FailurePicture | None = None) -> NoReturn:
    """Показать рисунок (если есть) и упасть с ExerciseFailure(message).

    Рисунок остаётся у исключения (`error.picture`) — для `course check` и тестов курса.
    """
    error = ExerciseFailure(message)
    error.picture = picture  # type: ignore[attr-defined]
    show(picture)
    raise error


# ---------------------------------------------------------------- общие части рисунков


def new_figure(size: tuple[float, float]) -> Any:
    """Рисунок matplotlib *без pyplot*.

    pyplot в ядре Jupyter вешает свои обработчики событий IPython (post_execute: показать
    рисунки ячейки) — проверка целостности при оценке приняла бы это за подмену и сняла бы
    баллы за честный провал. Figure без pyplot ничего в ядре не трогает и сам себя не показывает.
    """
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def never_raises(build: Callable[..., FailurePicture | None]) -> Callable[..., FailurePicture | None]:
    """Построитель рисунка не бросает исключений: ошибка — None (проверка идёт своим ходом).

    Рисунок строится в аргументе проверки — `expect(ok, текст, picture=probe.picture(2))` —
    ещё до того, как известно, провалилась ли она. Упади он — упал бы и тест, с чужим сообщением.
    """

    @functools.wraps(build)
    def safe(*args: Any, **kwargs: Any) -> FailurePicture | None:
        try:
            return build(*args, **kwargs)
        except Exception:  # noqa: BLE001 — рисунок лишь пояснение
            return None

    return safe


def cap_lanes(names: Sequence[str], limit: int = MAX_LANES, noun: str = "дорожек") -> tuple[list[str], str]:
    """Первые `limit` дорожек и подпись про остальные («ещё 988 задач») или пустая строка."""
    shown = list(names[:limit])
    rest = len(names) - len(shown)
    return shown, (f"ещё {rest} {noun} не показаны" if rest > 0 else "")


def lane_figure(
    panels: Sequence[tuple[str, Sequence[Bar], Sequence[Bar]]],
    title: str,
    unit: str = "мс",
    scale: float = 1000.0,
) -> Any:
    """Рисунок из панелей «дорожки»: [(заголовок, отрезки, отметки), …] на общей оси времени.

    Отрезок — (дорожка, начало, конец, вид), вид "run" (тёмный, работает) или "wait"
    (светлый, ждёт); отметка — (дорожка, начало, конец, текст): красная рамка и подпись.
    Время в секундах; на оси — в `unit` (умножается на `scale`).
    """
    from course.timeline_plot import RUN_COLOR, WAIT_COLOR

    lanes_per_panel = []
    for _, spans, marks in panels:
        names: list[str] = []
        for lane, *_ in list(spans) + list(marks):
            if lane not in names:
                names.append(lane)
        lanes_per_panel.append(names)
    heights = [max(len(n), 1) * 0.32 + 0.75 for n in lanes_per_panel]
    fig = new_figure((9, min(sum(heights) + 0.6, 7.5)))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})
    end = max((e for _, spans, marks in panels for _, _, e, _ in list(spans) + list(marks)), default=0.0)
    end = max(end * scale, 1e-3)
    thin = end / 400  # мгновенный отрезок всё равно виден штрихом
    for ax, (head, spans, marks), names in zip(axes[:, 0], panels, lanes_per_panel, strict=True):
        row = {name: i for i, name in enumerate(names)}
        for lane, start, stop, kind in spans:
            width = max((stop - start) * scale, thin)
            if kind == "wait":
                ax.broken_barh([(start * scale, width)], (row[lane] - 0.17, 0.34), facecolors=WAIT_COLOR)
            else:
                ax.broken_barh([(start * scale, width)], (row[lane] - 0.34, 0.68), facecolors=RUN_COLOR,
                               edgecolor="white", linewidth=0.3)
        for lane, start, stop, text in marks:
            width = max((stop - start) * scale, thin)
            ax.broken_barh([(start * scale, width)], (row[lane] - 0.45, 0.9), facecolors="none",
                           edgecolor="#d62728", linewidth=2)
            if text:  # подпись сбоку от рамки, где есть место, или поверх широкой рамки
                x0, x1 = start * scale, start * scale + width
                if x1 < end * 0.6:
                    where, shift, align = x1, 5, "left"
                elif x0 > end * 0.4:
                    where, shift, align = x0, -5, "right"
                else:
                    where, shift, align = (x0 + x1) / 2, 0, "center"
                ax.annotate(text, (where, row[lane]), xytext=(shift, 0), textcoords="offset points",
                            ha=align, va="center", fontsize=8, color="#d62728",
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 1},
                            annotation_clip=False)
        ax.set_yticks(range(len(names)), [n if len(n) <= 24 else n[:23] + "…" for n in names], fontsize=8)
        ax.set_ylim(len(names) - 0.4, -0.9)
        ax.set_title(head, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_xlim(0, end * 1.03)
    axes[-1, 0].set_xlabel(f"время от начала, {unit}")
    fig.suptitle("\n".join(textwrap.fill(line, 115) for line in title.split("\n")), fontsize=9)
    return fig


# ---------------------------------------------------------------- запросы к сервису


def _pack(durations: Sequence[float], places: int) -> list[tuple[float, float]]:
    """Разложить работы по `places` местам: каждая начинается, как только место свободно."""
    free = [0.0] * max(places, 1)
    laid = []
    for took in durations:
        slot = min(range(len(free)), key=free.__getitem__)
        laid.append((free[slot], free[slot] + took))
        free[slot] += took
    return laid


def _in_flight_at(times: Sequence[tuple[float, float]], i: int) -> int:
    """Сколько запросов из первых i + 1 (по началу) шло в момент начала i-го, включая его."""
    start = times[i][0]
    return sum(1 for s, e in times[: i + 1] if s <= start < e)


def _over_limit(times: Sequence[tuple[float, float]], limit: int) -> int | None:
    """Номер запроса, с началом которого в работе стало больше `limit`, или None."""
    for i in range(len(times)):
        if _in_flight_at(times, i) > limit:
            return i
    return None


def _after_all_before(times: Sequence[tuple[float, float]]) -> int | None:
    """Первый запрос, начатый, когда все предыдущие уже кончились (очередь), или None."""
    for i in range(1, len(times)):
        if times[i][0] >= max(end for _, end in times[:i]):
            return i
    return None


def peak_of(times: Sequence[tuple[float, float]]) -> int:
    """Сколько отрезков шло в один момент, максимум (касание концами — не наложение)."""
    events = sorted((t, step) for s, e in times for t, step in ((s, 1), (e, -1)))
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


@never_raises
def requests_picture(
    times: Sequence[tuple[float, float]],
    at_once: int,
    noun: tuple[str, str, str] = ("запрос", "запросы", "запросов"),
) -> FailurePicture | None:
    """Рисунок «запросы на оси времени»: как шли у студента и как должны при `at_once` сразу.

    noun — как назвать дорожку, во множественном числе и «ещё N …» («запрос», «запросы»,
    «запросов»). times — (начало, конец) каждого запроса по perf_counter; незаконченный (конец NaN)
    дорисовывается до конца последнего. Пик больше `at_once` — отмечен запрос, превысивший
    предел; меньше — первый запрос, начатый только после конца всех предыдущих.
    """
    import math

    ordered = sorted(times)
    if not ordered:
        raise ValueError("нет ни одного запроса")
    zero = ordered[0][0]
    last = max((e for _, e in ordered if not math.isnan(e)), default=ordered[-1][0])
    spans = [(s - zero, (last if math.isnan(e) else e) - zero) for s, e in ordered]
    one, many, of_many = noun
    names = [f"{one} {i + 1}" for i in range(len(spans))]
    shown, more = cap_lanes(names, noun=of_many)
    peak = peak_of(spans)
    if peak > at_once:
        kind, index = "limit", _over_limit(spans, at_once)
        caption = f"Предел {at_once} одновременно превышен: в работе было {peak} сразу."
        # отмечен первый, кто превысил предел: сколько шло при его начале, а не пик
        note = f"{_in_flight_at(spans, index)}-й сразу при пределе {at_once}" if index is not None else ""
    else:
        kind, index = "sequential", _after_all_before(spans)
        how = "по очереди" if peak <= 1 else "не все сразу"
        caption = (f"{many[:1].upper()}{many[1:]} шли {how}: одновременно не больше {peak}, "
                   f"а могло идти {at_once}.")
        note = "начат, когда предыдущие уже кончились"
    if index is None or index >= len(shown):  # отметить нечего или отмеченный не влез
        index = max(range(len(shown)), key=lambda i: spans[i][1] - spans[i][0])
        note = ""
    mark = (names[index], *spans[index], note)
    expected = _pack([e - s for s, e in spans], at_once)
    student = [(names[i], s, e, "run") for i, (s, e) in enumerate(spans[: len(shown)])]
    model = [(names[i], s, e, "run") for i, (s, e) in enumerate(expected[: len(shown)])]
    tail = f" ({more})" if more else ""
    data = {"lanes": shown, "mark": mark, "peak": peak, "at_once": at_once, "more": more,
            "expected_peak": peak_of(expected)}
    return FailurePicture(kind, caption + tail, lambda: lane_figure(
        [(f"ваш прогон: одновременно до {peak}{tail}", student, [mark]),
         (f"ожидалось: до {at_once} одновременно (та же работа)", model, [])],
        caption,
    ), data)


@never_raises
def hosts_picture(
    times: Mapping[str, Sequence[tuple[float, float]]], per_host: int, unit: str = "с"
) -> FailurePicture | None:
    """Запросы по хостам (время цикла, с): у каждого хоста свой предел `per_host`, хосты — с нуля.

    Отмечено первое нарушение: хост, где шло больше `per_host` сразу; хост, где шло меньше,
    хотя адресов хватало; хост, чей первый запрос ждал чужие. Снизу — те же запросы, разложенные
    по `per_host` местам каждого хоста, все хосты сразу.
    """
    spans, model, names, marks = [], [], [], []
    problem = ""
    for host, pairs in times.items():
        pairs = sorted(pairs)
        laid = _pack([e - s for s, e in pairs], per_host)
        for i, ((s, e), (ms, me)) in enumerate(zip(pairs, laid, strict=True)):
            name = f"{host} · {i + 1}"
            names.append(name)
            spans.append((name, s, e, "run"))
            model.append((name, ms, me, "run"))
        peak, want = peak_of(pairs), min(per_host, len(pairs))
        if problem or not pairs:
            continue
        if peak > per_host:
            index = _over_limit(pairs, per_host) or 0
            problem = f"к {host} шло сразу {peak} при per_host={per_host}"
            marks.append((f"{host} · {index + 1}", *pairs[index], f"{peak}-й сразу"))
        elif peak < want:
            index = _after_all_before(pairs) or 0
            problem = f"к {host} шло не больше {peak} сразу, а могло {want}"
            marks.append((f"{host} · {index + 1}", *pairs[index], "ждал, хотя место было"))
        elif pairs[0][0] > 0:
            problem = f"первый запрос к {host} ждал другие хосты до {pairs[0][0]:g} {unit}"
            marks.append((f"{host} · 1", *pairs[0], "ждал чужой хост"))
    if not problem:
        return None
    shown, more = cap_lanes(names, noun="запросов")
    keep = set(shown)
    tail = f" ({more})" if more else ""
    caption = f"Предел на хост нарушен: {problem}."
    data = {"lanes": shown, "mark": marks[0], "more": more}
    kind = "limit" if " при per_host=" in problem else "sequential"
    return FailurePicture(kind, caption + tail, lambda: lane_figure(
        [(f"ваш прогон: запросы по хостам{tail}", [x for x in spans if x[0] in keep],
          [m for m in marks if m[0] in keep]),
         (f"ожидалось: у каждого хоста {per_host} места, все хосты сразу",
          [x for x in model if x[0] in keep], [])],
        caption, unit=unit, scale=1.0,
    ), data)


@never_raises
def level_picture(
    levels: Sequence[int], capacity: int, what: str = "элементов в буфере"
) -> FailurePicture | None:
    """Сколько элементов лежало в буфере после каждого put — и где стало больше `capacity`.

    Ось X — номер put по порядку (в виртуальном времени многие put случаются в один миг, так
    что порядок событий нагляднее часов). None — предел ни разу не превышен.
    """
    levels = list(levels)
    over = [i for i, level in enumerate(levels) if level > capacity]
    if not over:
        return None
    peak = max(levels)
    caption = (f"Предел буфера {capacity} превышен: после put №{over[0] + 1} в нём {levels[over[0]]}, "
               f"больше всего — {peak}.")

    def draw() -> Any:
        fig = new_figure((9, 3))
        ax = fig.subplots()
        steps = range(1, len(levels) + 1)
        ax.step(steps, levels, where="post", color="#1f5fa8", label=what)
        ax.axhline(capacity, color="black", lw=1, ls="--", label=f"предел capacity={capacity}")
        ax.scatter([i + 1 for i in over], [levels[i] for i in over], color="#d62728", zorder=3,
                   label="сверх предела")
        ax.set_xlabel("номер put по порядку")
        ax.set_ylabel(what)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        fig.suptitle(textwrap.fill(caption, 115), fontsize=9)
        return fig

    data = {"over": over[:40], "peak": peak, "capacity": capacity}
    return FailurePicture("limit", caption, draw, data)


# ---------------------------------------------------------------- гонка и взаимоблокировка


def find_lost_update(log: Sequence[tuple[float, str, str, str, Any]]) -> dict[str, Any] | None:
    """Первое место в журнале, где поток записал значение, не видя чужой записи.

    Окно потока — от его первого чтения атрибута после своей прошлой записи до новой записи.
    Если в окно попала запись другого потока, то: чужая запись после *последнего* чтения —
    потерянное обновление (её перезаписали значением, посчитанным по старому); между первым
    и последним — устаревшая проверка (условие проверено по значению, которого уже нет).
    """
    first: dict[tuple[str, str], tuple[float, Any]] = {}
    latest: dict[tuple[str, str], tuple[float, Any]] = {}
    writes: dict[str, list[tuple[float, str, Any]]] = {}
    found: dict[str, Any] | None = None
    for when, thread, op, attr, value in log:
        key = (thread, attr)
        if op == "read":
            first.setdefault(key, (when, value))
            latest[key] = (when, value)
            continue
        opened, last = first.pop(key, None), latest.pop(key, None)
        history = writes.setdefault(attr, [])
        if opened is not None and last is not None:
            foreign = []
            for index in range(len(history) - 1, -1, -1):
                w = history[index]
                if w[0] <= opened[0]:
                    break
                if w[1] != thread:
                    foreign.append(w)
            if foreign and found is None:
                other = foreign[0]  # последняя чужая запись перед нашей
                found = {"thread": thread, "attr": attr, "opened": opened[0], "read": last,
                         "write": (when, value), "other": other,
                         "kind": "lost" if other[0] > last[0] else "stale"}
        history.append((when, thread, value))
    return found


def _windows(log: Sequence[tuple[float, str, str, str, Any]], attr: str) -> list[tuple[str, float, float]]:
    """Окна «первое чтение → запись» каждого потока для атрибута `attr`."""
    opened: dict[str, float] = {}
    out = []
    for when, thread, op, name, _ in log:
        if name != attr:
            continue
        if op == "read":
            opened.setdefault(thread, when)
        elif thread in opened:
            out.append((thread, opened.pop(thread), when))
    return out


def _short_thread(name: str) -> str:
    """«ThreadPoolExecutor-38_1» → «поток пула 1»: номер пула ничего не говорит, а строку раздувает."""
    import re

    return re.sub(r"^ThreadPoolExecutor-\d+_(\d+)$", r"поток пула \1", name)


@never_raises
def race_picture(
    log: Sequence[tuple[float, str, str, str, Any]], outcome: str = "", unit: str = "мкс", scale: float = 1e6
) -> FailurePicture | None:
    """Рисунок гонки: окна «прочёл → записал» потоков вокруг первого потерянного обновления.

    Сверху — как было: окно потока, записавшего поверх чужой записи, в красной рамке, чужая
    запись отмечена штрихом. Снизу — те же окна под одной блокировкой: одно за другим.
    None — в журнале нет потерянного обновления (гонка другая — рисовать нечего).
    outcome — что проверка насчитала («ожидалось 400, получено 117»): под заголовком, рядом с
    числом записей каждого потока. Журнал задач asyncio (время цикла, имя задачи вместо потока)
    рисуется так же: unit="с", scale=1.
    """
    log = [(when, _short_thread(name), op, attr, value) for when, name, op, attr, value in log]
    found = find_lost_update(log)
    if found is None:
        return None
    attr, thread = found["attr"], found["thread"]
    other_at, other, other_value = found["other"]
    near = sorted((w for w in _windows(log, attr) if w[2] >= found["opened"] and w[1] <= found["write"][0]),
                  key=lambda w: w[1])[:MAX_LANES]
    zero = min(start for _, start, _ in near)
    lanes = []
    for name, _, _ in near:
        if name not in lanes:
            lanes.append(name)
    spans = [(name, start - zero, end - zero, "run") for name, start, end in near]
    read_value, write_value = found["read"][1], found["write"][1]
    if found["kind"] == "lost":
        caption = (f"Потерянное обновление: «{thread}» прочёл {attr}={read_value!r}, «{other}» записал "
                   f"{other_value!r}, а «{thread}» записал {write_value!r} поверх.")
        note = f"прочёл {read_value!r} → записал {write_value!r} поверх"
    else:
        caption = (f"Устаревшая проверка: «{thread}» проверял {attr} до того, как «{other}» записал "
                   f"{other_value!r}, и записал {write_value!r} по старому.")
        note = f"проверял старое, записал {write_value!r}"
    marks = [(thread, found["opened"] - zero, found["write"][0] - zero, note),
             (other, other_at - zero, other_at - zero, f"записал {other_value!r}")]
    counted: dict[str, int] = {}
    for _, name, op, which, _ in log:
        if op == "write" and which == attr:
            counted[name] = counted.get(name, 0) + 1
    per_thread = ", ".join(f"{name}: {count}" for name, count in sorted(counted.items()))
    title = f"{caption}\nЗаписей {attr} по потокам: {per_thread}." + (f" Итог: {outcome}." if outcome else "")
    serial, now = [], 0.0
    for name, start, end in near:
        serial.append((name, now, now + (end - start), "run"))
        now += end - start
    data = {"lanes": lanes, "mark": marks[0], "other": marks[1], "kind": found["kind"], "attr": attr,
            "writes_by_thread": counted, "outcome": outcome}
    return FailurePicture("race", caption, lambda: lane_figure(
        [(f"ваш прогон: окна «прочёл {attr} → записал» у потоков", spans, marks),
         ("ожидалось: под одной блокировкой окна идут одно за другим", serial, [])],
        title, unit=unit, scale=scale,
    ), data)


@never_raises
def deadlock_picture(cycle: Sequence[tuple[str, str, str]]) -> FailurePicture | None:
    """Граф ожидания взаимоблокировки: потоки, блокировки и стрелки «ждёт» / «её держит»."""
    from course.waitgraph import draw_wait_for

    chain = ", ".join(f"«{thread}» ждёт «{lock}», которую держит «{holder}»"
                      for thread, lock, holder in cycle)
    caption = f"Взаимоблокировка: {chain} — цикл, никто не отпустит первым."
    data = {"cycle": list(cycle), "threads": [t for t, _, _ in cycle], "locks": [lk for _, lk, _ in cycle]}
    title = textwrap.fill(caption, 70)

    def draw() -> Any:
        return draw_wait_for(new_figure((5.5, 4.8)), cycle, title)

    return FailurePicture("deadlock", caption, draw, data)


# ---------------------------------------------------------------- заблокированный цикл событий


@never_raises
def blocked_picture(blocks: Sequence[Any], steps: Sequence[tuple[float, float]]) -> FailurePicture | None:
    """Рисунок «цикл событий стоял»: шаги цикла на оси времени, долгие — в красной рамке.

    blocks — `async_checks.Block` (секунды, где, начало); steps — заметные шаги цикла. Снизу
    то же, как должно быть: синхронные вызовы идут в потоках пула (`asyncio.to_thread`) все
    сразу, а цикл между короткими шагами свободен.
    """
    loop_lane = "цикл событий"
    shown = sorted(blocks, key=lambda b: b.start)[: MAX_LANES - 1]
    more = len(blocks) - len(shown)
    spans = [(loop_lane, start, end, "run") for start, end in steps]
    for b in shown:  # долгий шаг есть в steps; на случай, если журнал шагов переполнен
        spans.append((loop_lane, b.start, b.start + b.seconds, "run"))
    worst = max(shown, key=lambda b: b.seconds)
    total = sum(b.seconds for b in blocks)
    call = f"`{worst.call}` в {worst.coroutine}" if worst.call else f"корутина {worst.where}"
    marks = [(loop_lane, b.start, b.start + b.seconds,
              (f"{call}: {b.seconds:.2f} с" if b is worst else "")) for b in shown]
    first = shown[0].start
    model = [(loop_lane, first, first + 0.002, "run")]
    for i, b in enumerate(shown):
        model.append((f"поток пула {i + 1}", first, first + b.seconds, "run"))
    back = first + max(b.seconds for b in shown)
    model.append((loop_lane, back, back + 0.002, "run"))
    caption = (f"Цикл событий стоял {total:.2f} с в синхронном коде (долгих шагов: {len(blocks)}, "
               f"самый долгий — {call}): пока шаг идёт, другие задачи ждут.")
    tail = f" (ещё {more} долгих шагов не показаны)" if more > 0 else ""
    data = {"lanes": [loop_lane], "marks": marks, "worst": (worst.start, worst.seconds, worst.call),
            "blocked_total": total, "more": more}
    return FailurePicture("blocked", caption + tail, lambda: lane_figure(
        [(f"ваш прогон: шаги цикла событий, долгие — в рамке{tail}", spans, marks),
         ("ожидалось: тот же синхронный код — в потоке пула (asyncio.to_thread), цикл свободен для "
          "других задач", model, [])],
        caption,
    ), data)


# ---------------------------------------------------------------- потерянные и повторённые элементы


@never_raises
def items_picture(
    expected: Iterable[Any], got: Iterable[Any], what: str = "элементы", missing: str = "потеряно"
) -> FailurePicture | None:
    """Рисунок «сколько раз получен каждый элемент»: ожидалось по разу (или сколько дано).

    Потерянные (получено меньше) — красные, повторённые (больше) — оранжевые. Элементов много —
    показаны все проблемные и немного целых вокруг. None — набор совпадает (дело в порядке:
    это неверное значение, а не потеря, рисовать нечего). missing — как назвать недостачу:
    «потеряно» или, если потоки зависли, «не дошло».
    """
    want, have = Counter(expected), Counter(got)
    if want == have:
        return None
    keys = list(want) + [k for k in have if k not in want]
    bad = [k for k in keys if want[k] != have[k]]
    lost = [k for k in bad if have[k] < want[k]]
    extra = [k for k in bad if have[k] > want[k]]
    shown = bad[:40]
    shown += [k for k in keys if k not in bad][: max(0, 40 - len(shown))]
    order = {k: i for i, k in enumerate(keys)}
    shown.sort(key=order.__getitem__)
    parts = []
    if lost:
        parts.append(f"{missing} {sum(want[k] - have[k] for k in lost)} (например, {lost[0]!r})")
    if extra:
        example = f"{extra[0]!r} — {have[extra[0]]} раза"
        parts.append(f"лишних {sum(have[k] - want[k] for k in extra)} (например, {example})")
    total = f"получено {sum(have.values())} из {sum(want.values())}"
    caption = f"{what[:1].upper()}{what[1:]}: {', '.join(parts)}; {total}."
    more = len(keys) - len(shown)

    def draw() -> Any:
        fig = new_figure((9, 3.2))
        ax = fig.subplots()
        colors = ["#d62728" if have[k] < want[k] else "#ff7f0e" if have[k] > want[k] else "#1f5fa8"
                  for k in shown]
        ax.bar(range(len(shown)), [have[k] for k in shown], color=colors)
        for i, k in enumerate(shown):  # недостача — красная штриховка до ожидаемого
            if have[k] < want[k]:
                ax.bar(i, want[k] - have[k], bottom=have[k], facecolor="none", edgecolor="#d62728",
                       hatch="///", linewidth=1)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.step(range(len(shown)), [want[k] for k in shown], where="mid", color="black", lw=1,
                label="ожидалось")
        ax.set_xticks(range(len(shown)), [str(k)[:12] for k in shown], rotation=90, fontsize=7)
        ax.set_ylabel("сколько раз получен")
        ax.legend(loc="upper right", fontsize=8)
        tail = f" (ещё {more} элементов в порядке, не показаны)" if more > 0 else ""
        head = f"красные — недостача ({missing}), оранжевые — повторились{tail}"
        ax.set_title(head, fontsize=9, loc="left")
        fig.suptitle(textwrap.fill(caption, 115), fontsize=9)
        return fig

    data = {"lost": lost[:40], "extra": extra[:40], "shown": shown, "more": more}
    return FailurePicture("items", caption, draw, data)


__all__ = [
    "FailurePicture", "fail", "show", "cap_lanes", "lane_figure", "requests_picture", "peak_of",
    "race_picture", "blocked_picture", "hosts_picture", "level_picture", "deadlock_picture", "items_picture",
    "find_lost_update",
    "never_raises", "MAX_PNG_BYTES", "METADATA_KEY",
]
