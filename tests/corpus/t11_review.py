"""Тема 11: итоговый обзор — ответы на вопросы (неверные — частые заблуждения)."""

from corpus.runner import Variant, replace

NOTEBOOK = "11-review"

VARIANTS = [
    # ---------------------------------------------------------------- 1
    Variant("review_basics", "asyncio_is_parallel", replace(
        'answer_concurrency = {"a", "b", "e"}', 'answer_concurrency = {"a", "b", "d", "e"}'),
        message="(d) выбран зря"),
    Variant("review_basics", "goal_is_no_deadlocks", replace(
        'answer_concurrency = {"a", "b", "e"}', 'answer_concurrency = {"a", "c", "e"}'),
        message="(b) тоже верен"),
    Variant("review_basics", "eight_sleeps_in_turn", replace(
        "answer_pool_seconds = round(time.perf_counter() - start, 2)", "answer_pool_seconds = 1.6"),
        message="две «волны»"),
    Variant("review_basics", "one_wave", replace(
        "answer_pool_seconds = round(time.perf_counter() - start, 2)", "answer_pool_seconds = 0.2")),
    Variant("review_basics", "literal_answers_other_order", valid=True, source='''
answer_concurrency = set("eab")
answer_pool_seconds = 0.4
'''),
    # ---------------------------------------------------------------- 2
    Variant("review_gil", "gil_makes_counter_safe", replace(
        'answer_gil = {"a", "c", "e"}', 'answer_gil = {"a", "b", "c", "e"}'), message="(b) выбран зря"),
    Variant("review_gil", "refcount_without_argument", replace(
        "answer_refcount = sys.getrefcount(data)", "answer_refcount = sys.getrefcount(data) - 1"),
        message="временная ссылка"),
    Variant("review_gil", "cycle_freed_at_del", replace('answer_cycle = "b"', 'answer_cycle = "a"'),
            message="(a) не подходит"),
    Variant("review_gil", "gc_disable_stops_refcounting", replace(
        'answer_gc = {"b", "c", "d"}', 'answer_gc = {"a", "b", "d"}'), message="(a) выбран зря"),
    Variant("review_gil", "literals_and_frozensets", valid=True, source='''
answer_gil = frozenset({"e", "c", "a"})
answer_refcount = 5
answer_cycle = "B".lower()
answer_gc = {"d", "c", "b"}
'''),
    # ---------------------------------------------------------------- 3
    Variant("review_processes", "three_forks_three_lines", replace(
        'answer_forks = forks.stdout.count("hi")', "answer_forks = 4")),
    Variant("review_processes", "child_append_visible", replace(
        "answer_after_fork = ast.literal_eval(after.stdout.strip())", "answer_after_fork = [1, 2]")),
    Variant("review_processes", "globals_shared", replace(
        'answer_ipc = {"a", "c", "e"}', 'answer_ipc = {"a", "b", "c", "e"}'), message="(b) выбран зря"),
    Variant("review_processes", "threads_survive_fork", replace(
        'answer_fork_facts = {"a", "d", "e"}', 'answer_fork_facts = {"a", "b", "d", "e"}'),
        message="(b) выбран зря"),
    Variant("review_processes", "literals", valid=True, source='''
answer_forks = 2 ** 3
answer_after_fork = [1]
answer_ipc = {"e", "c", "a"}
answer_fork_facts = frozenset("ead")
'''),
    # ---------------------------------------------------------------- 4
    Variant("review_sync", "append_races", replace(
        'answer_race = {"b", "c"}', 'answer_race = {"a", "b", "c"}'), message="(a) выбран зря"),
    Variant("review_sync", "no_races_in_asyncio", replace(
        "answer_balance = balance", "answer_balance = 0"), message="−200"),
    Variant("review_sync", "rlock_deadlocks", replace(
        'answer_deadlock = {"a", "d", "e"}', 'answer_deadlock = {"a", "b", "d"}'), message="(e) тоже верен"),
    Variant("review_sync", "sleep_fixes_deadlock", replace(
        'answer_deadlock_fix = "b"', 'answer_deadlock_fix = "a"'), message="(a) не подходит"),
    Variant("review_sync", "literals", valid=True, source='''
answer_race = {"c", "b"}
answer_balance = -200
answer_deadlock = set("ade")
answer_deadlock_fix = "b"
'''),
    # ---------------------------------------------------------------- 5
    Variant("review_generators", "send_returns_double", replace(
        "answer_send = gen.send(5)", "answer_send = 10"), message="10 + 1 = 11"),
    Variant("review_generators", "call_runs_body", replace(
        'answer_coroutines = {"b", "c", "e"}', 'answer_coroutines = {"a", "b", "c", "e"}'),
        message="(a) выбран зря"),
    Variant("review_generators", "future_runs_code", replace(
        'answer_coroutines = {"b", "c", "e"}', 'answer_coroutines = {"b", "c", "d"}'),
        message="(d) выбран зря"),
    Variant("review_generators", "literals", valid=True, source='''
answer_send = 11.0
answer_coroutines = {"e", "c", "b"}
'''),
    # ---------------------------------------------------------------- 6
    Variant("review_event_loop", "task_runs_at_create", replace(
        "answer_order = order", 'answer_order = ["p1", "child", "helper", "p2", "p3"]')),
    Variant("review_event_loop", "thread_per_task", replace(
        "answer_extra_threads = max(during) - threads_before", "answer_extra_threads = 100")),
    Variant("review_event_loop", "wait_cancels", replace(
        'answer_asyncio_api = {"a", "b", "e"}', 'answer_asyncio_api = {"a", "b", "c", "e"}'),
        message="(c) выбран зря"),
    Variant("review_event_loop", "gather_hides_blocking", replace(
        "answer_gather_seconds = round(time.perf_counter() - start, 2)", "answer_gather_seconds = 0.2")),
    Variant("review_event_loop", "literals", valid=True, source='''
answer_order = "p1 helper p2 child p3".split()
answer_extra_threads = 0
answer_asyncio_api = {"e", "a", "b"}
answer_gather_seconds = 0.4
'''),
    # ---------------------------------------------------------------- 7
    Variant("review_choice", "threads_for_cpu", replace(
        '2: "processes"', '2: "threads"')),
    Variant("review_choice", "greenlet_is_os_thread", replace(
        'answer_green = {"a", "c", "d"}', 'answer_green = {"a", "b", "c", "d"}'), message="(b) выбран зря"),
    Variant("review_choice", "gevent_sleeps_together", replace(
        "answer_gevent_seconds = 2.0", "answer_gevent_seconds = 0.5")),
    Variant("review_choice", "workers_equal_cores", replace(
        "answer_default_workers = min(32, 8 + 4)", "answer_default_workers = 8")),
    Variant("review_choice", "literals", valid=True, source='''
answer_choice = {5: "threads", 4: "processes", 3: "threads", 2: "processes", 1: "asyncio"}
answer_green = set("dca")
answer_gevent_seconds = 4 * 0.5
answer_default_workers = 12
'''),
    # ---------------------------------------------------------------- 8
    Variant("review_queues", "one_per_producer", replace("answer_sentinels = 4", "answer_sentinels = 3"),
            message="не производителей"),
    Variant("review_queues", "insertion_order_for_ties", replace(
        "answer_priority = [prio.get()[1] for _ in range(4)]", 'answer_priority = ["z", "a", "b", "c"]')),
    Variant("review_queues", "ab_threads", replace(
        'answer_broker = {"a", "c", "e"}', 'answer_broker = {"a", "c", "d", "e"}'), message="(d) выбран зря"),
    Variant("review_queues", "every_six_minutes", replace(
        "answer_cron_runs = len(range(0, 24, 6))", "answer_cron_runs = 240")),
    Variant("review_queues", "literals", valid=True, source='''
answer_sentinels = 4
answer_priority = list("azbc")
answer_broker = {"e", "c", "a"}
answer_cron_runs = 24 // 6
'''),
]

# «Найдите ошибку» (упражнения 7–10): неверные — правдоподобные ложные диагнозы.
_BUGS = {
    "find_bug_await": ("answer_bug_greeting", "c", None, {"a": "wait_for_dict", "b": "to_thread",
                                                               "d": "time_sleep"}),
    "find_bug_lost_task": ("answer_bug_email", "b", None, {"a": "thread_per_task", "c": "call_without_task",
                                                                "d": "sleep_cancels"}),
    "find_bug_cancel": ("answer_bug_heartbeat", "d", None, {"a": "cancel_twice", "b": "sleep_not_cancellable",
                                                                 "c": "never_await_cancelled"}),
    "find_bug_blocking": ("answer_bug_fetch_all", "a", None, {"b": "use_wait", "c": "gil_use_processes",
                                                                   "d": "sleep_zero_first"}),
}
for _exercise, (_name, _right, _spelled, _wrong) in _BUGS.items():
    for _letter, _why in _wrong.items():
        VARIANTS.append(Variant(_exercise, _why.replace(" ", "_"), replace(f'"{_right}"', f'"{_letter}"'),
                                message=f"({_letter}) не подходит"))
    VARIANTS.append(Variant(_exercise, "letter_written_otherwise", valid=True,
                            source=f'{_name} = "{_right.upper()}".lower()\n'))
