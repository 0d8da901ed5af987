"""Тема 10: сервер, cron, Celery."""

from corpus.runner import Variant, replace

NOTEBOOK = "10-production"

VARIANTS = [
    # ---------------------------------------------------------------- report
    Variant("report_endpoint", "blocking_call_on_loop", '''
async def report(seconds: float = 0.3) -> dict:
    return {"report": build_report(seconds)}
''', message="останавливает цикл событий"),
    Variant("report_endpoint", "sleep_zero_then_blocking", '''
async def report(seconds: float = 0.3) -> dict:
    await asyncio.sleep(0)
    text = build_report(seconds)
    return {"report": text}
''', message="останавливает цикл событий"),
    Variant("report_endpoint", "to_thread_not_awaited", '''
async def report(seconds: float = 0.3) -> dict:
    text = asyncio.to_thread(build_report, seconds)
    return {"report": text}
''', message="вызов в пуле потоков не дождались"),
    Variant("report_endpoint", "executor_future_not_awaited", '''
async def report(seconds: float = 0.3) -> dict:
    loop = asyncio.get_running_loop()
    return {"report": loop.run_in_executor(None, build_report, seconds)}
''', message="вызов в пуле потоков не дождались"),
    Variant("report_endpoint", "run_in_executor_partial", valid=True, source='''
async def report(seconds: float = 0.3) -> dict:
    import functools

    loop = asyncio.get_running_loop()
    text = await loop.run_in_executor(None, functools.partial(build_report, seconds))
    return dict(report=text)
'''),
    # ---------------------------------------------------------------- next_run
    Variant("next_run", "not_strictly_after", replace(
        "start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)",
        "start = after.replace(second=0, microsecond=0)"), message="строго после"),
    Variant("next_run", "day_and_weekday_both", replace(
        "        return by_day or by_weekday", "        return by_day and by_weekday"),
        message="хотя бы с одним из них"),
    Variant("next_run", "sunday_seven_unmapped", replace(
        "    weekdays = {d % 7 for d in weekdays}  # 7 и 0 — воскресенье\n", ""),
        message="7 — тоже воскресенье"),
    Variant("next_run", "python_weekday_numbers", replace(
        "(day.weekday() + 1) % 7 in weekdays", "day.weekday() in weekdays"),
        message="у datetime.weekday() понедельник — 0"),
    Variant("next_run", "step_from_zero", replace(
        "                start, stop = low, high\n", "                start, stop = 0, high\n"),
        message="от наименьшего значения поля"),
    Variant("next_run", "one_year_search", replace("for _ in range(366 * 5 + 2):", "for _ in range(366):"),
            message="дальше, чем на год"),
    Variant("next_run", "english_errors", '''
def next_run(expr: str, after: datetime) -> datetime:
    from datetime import timedelta

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError("expected 5 fields")
    bounds = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]

    def expand(text, low, high):
        out = set()
        for part in text.split(","):
            rng, _, step = part.partition("/")
            step = int(step) if step else 1
            if step < 1:
                raise ValueError("bad step")
            if rng == "*":
                a, b = low, high
            elif "-" in rng:
                a, b = map(int, rng.split("-"))
            else:
                a = b = int(rng)
            if not (low <= a <= b <= high):
                raise ValueError("out of range")
            out.update(range(a, b + 1, step))
        return out

    mins, hours, days, months, wdays = (expand(f, *b) for f, b in zip(fields, bounds))
    wdays = {d % 7 for d in wdays}
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = moment.replace(hour=0, minute=0)
    for _ in range(366 * 5 + 2):
        dom, dow = day.day in days, (day.weekday() + 1) % 7 in wdays
        if fields[2] != "*" and fields[4] != "*":
            ok = dom or dow
        else:
            ok = dom and dow
        if day.month in months and ok:
            for h in sorted(hours):
                for m in sorted(mins):
                    if day.replace(hour=h, minute=m) >= moment:
                        return day.replace(hour=h, minute=m)
        day += timedelta(days=1)
    raise ValueError("never")
''', message="не по-русски"),
    Variant("next_run", "minute_scan_with_regex_parser", valid=True, source='''
def next_run(expr: str, after: datetime) -> datetime:
    import re
    from datetime import timedelta

    names = ["минута", "час", "день месяца", "месяц", "день недели"]
    spans = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(f"нужно пять полей, получено {len(parts)}")
    allowed = []
    for text, name, (low, high) in zip(parts, names, spans):
        values = set()
        for item in text.split(","):
            m = re.fullmatch(r"(\\*|(\\d+)(?:-(\\d+))?)(?:/(\\d+))?", item)
            if not m:
                raise ValueError(f"{name}: непонятно {item!r}")
            if m.group(4) is not None and int(m.group(4)) == 0:
                raise ValueError(f"{name}: шаг 0")
            if m.group(4) is not None and m.group(1) != "*" and m.group(3) is None:
                raise ValueError(f"{name}: шаг без диапазона")
            if m.group(1) == "*":
                a, b = low, high
            else:
                a = int(m.group(2))
                b = int(m.group(3)) if m.group(3) is not None else a
            if a < low or b > high or a > b:
                raise ValueError(f"{name}: {item!r} вне {low}-{high} или наоборот")
            values |= set(range(a, b + 1, int(m.group(4) or 1)))
        allowed.append(values)
    minutes, hours, mdays, months, wdays = allowed
    wdays = {w % 7 for w in wdays}
    restrict_day, restrict_week = parts[2] != "*", parts[4] != "*"
    day = after.date()
    end = day + timedelta(days=5 * 366 + 2)
    while day <= end:
        by_day = day.day in mdays
        by_week = day.isoweekday() % 7 in wdays
        if restrict_day and restrict_week:
            fits = by_day or by_week
        else:
            fits = (by_day or not restrict_day) and (by_week or not restrict_week)
        if day.month in months and fits:
            for h in sorted(hours):
                for m in sorted(minutes):
                    moment = datetime(day.year, day.month, day.day, h, m)
                    if moment > after:
                        return moment
        day += timedelta(days=1)
    raise ValueError(f"{expr!r}: за пять лет ни одного запуска")
'''),
    # ---------------------------------------------------------------- fetch_safe
    Variant("fetch_safe_task", "loop_with_sleep_instead_of_retry", '''
def register_tasks(app):
    @app.task(name="course.fetch_safe", bind=True)
    def fetch_safe(self, key):
        for attempt in range(4):
            try:
                value = flaky_get(key)
            except ConnectionError:
                if attempt == 3:
                    raise
                time.sleep(0.2)
            else:
                return {"key": key, "value": value, "attempts": attempt + 1}

    return fetch_safe
''', message="а не циклом с time.sleep"),
    Variant("fetch_safe_task", "retries_every_error", replace(
        "except ConnectionError as exc:", "except Exception as exc:"), message="ValueError"),
    Variant("fetch_safe_task", "no_countdown", replace(
        "countdown=0.2, ", ""), message="default_retry_delay"),
    Variant("fetch_safe_task", "too_many_retries", replace("max_retries=3", "max_retries=5"),
            message="max_retries"),
    Variant("fetch_safe_task", "autoretry_for", valid=True, source='''
def register_tasks(app):
    @app.task(name="course.fetch_safe", bind=True, autoretry_for=(ConnectionError,),
              retry_kwargs={"max_retries": 3, "countdown": 0.2})
    def fetch_safe(self, key):
        return {"key": key, "value": flaky_get(key), "attempts": self.request.retries + 1}

    return fetch_safe
'''),
]
