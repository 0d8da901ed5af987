"""Вердикты, которые ядро не подделает незаметно: канарейки, сверка машинерии, статический поиск.

Тест-ячейки выполняются в ядре студента, и код студента, выполненный раньше, может подменить
то, чем тест судит: преобразователь ввода IPython превращает каждую следующую ячейку в `pass`,
помощники `course.checks` подменяются пустышками, обработчик событий стирает traceback.
Полностью защитить то, что работает в одном процессе с кодом студента, нельзя; поэтому
проверка ищет следы подмены и при малейшем подозрении не даёт баллов, а отдаёт работу
учителю («требует ручной проверки»):

- **канарейки** — перед каждой тест-ячейкой и после последней проверка выполняет в ядре
  свои короткие ячейки со свежими случайными числами: одна обязана упасть на `assert` с
  известным текстом, другая — на `expect_equal` из `course.checks`, третья (зонд) — пройти
  и напечатать строку с меткой. Пропущенная, переписанная или «заглушённая» ячейка,
  помощник-пустышка дают другой ответ;
- **зонд** сверяет с эталоном, снятым сразу после запуска ядра (до кода студента),
  машинерию IPython (преобразователи ввода и AST, обработчики событий, методы выполнения)
  и код функций тест-помощников курса (хеш байт-кода против установленных файлов);
- **статический поиск** в ячейках, которые правит студент, — API подмены (см. `TAMPER_API`)
  и чтения чужих кадров стека, которым выносят скрытые тесты (`LEAK_API`).
  Ни одно эталонное решение в `solutions/` его не задевает (тест это проверяет).

Чего это не гарантирует: код студента, знающий устройство зонда, может подделать и его
ответы. Поэтому зонд — второй рубеж; первый — песочница (файлы и процессы), третий —
ручная проверка помеченных работ.
"""

from __future__ import annotations

import ast
import json
import secrets
from typing import Any

TAMPERED = "ТребуетРучнойПроверки"  # ename вывода, которым проверка помечает подмену
MANUAL = "требует ручной проверки"
HELPER_MODULES = ("course.checks", "course.race_checks", "course.async_checks", "course.review")

# Атрибуты и имена, которыми подменяют проверку изнутри ядра (статический поиск).
TAMPER_API = {
    "input_transformers_post", "input_transformers_cleanup", "input_transformer_manager",
    "ast_transformers", "set_custom_exc", "custom_exceptions", "run_cell", "run_cell_async",
    "run_ast_nodes", "run_code", "transform_cell", "transform_ast", "showtraceback",
    "_showtraceback", "showsyntaxerror", "settrace", "setprofile", "get_referrers", "get_objects",
    "history_manager", "clear_output", "_ih", "_oh", "__code__", "__builtins__",
    "register_magic_function", "pythonapi",
}
TAMPER_EVENTS = {"pre_run_cell", "pre_execute", "post_run_cell", "post_execute"}
# Чтение чужих кадров стека и истории ввода: функция студента, вызванная из скрытого теста,
# достаёт его исходник (кадр вызывающего → имя файла ячейки → linecache; или `In[-1]` — история
# IPython, куда ячейка теста попадает до своего выполнения) и печатает — хоть в base64, мимо
# вычёркивания строк в отзыве. Решениям курса это не нужно.
LEAK_API = {
    "_getframe", "currentframe", "_current_frames", "f_back", "tb_frame", "f_globals", "f_locals",
    "f_code", "getouterframes", "getinnerframes", "getframeinfo", "linecache", "In", "Out", "user_ns",
    "format_stack", "print_stack", "extract_stack", "walk_stack",  # стек со строками вызывающих
}
LEAK_CALLS = {"inspect.stack", "inspect.trace", "traceback.extract_stack", "traceback.walk_stack"}


# ----------------------------------------------------------------- статический поиск


def scan_source(source: str) -> list[str]:
    """Найденные в коде ячейки API подмены проверки (пустой список — чисто).

    Чтение кадров стека (`LEAK_API`) ищется только внутри функций: скрытый тест можно прочитать
    лишь из кода, который выполняется во время теста, — из функции, которую тест вызывает.
    На верхнем уровне ячейки оно безвредно, и лекция им законно пользуется (тема 05 смотрит в
    кадр генератора).
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 — не IPython: разбираем как есть
        code = source
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: list[str] = []
    in_functions = {
        id(inner) for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        magic = getattr(getattr(node, "func", None), "attr", "") in ("run_line_magic", "run_cell_magic")
        if magic:
            for arg in node.args[1:]:  # %time код / %%capture …: код магии — строкой
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.extend(scan_source(arg.value))
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
            if id(node) in in_functions and ast.unparse(node) in LEAK_CALLS:
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.alias):  # from sys import _getframe
            name = node.name.rsplit(".", 1)[-1]
        if name in TAMPER_API or id(node) in in_functions and name in LEAK_API:
            found.append(name)
        elif isinstance(node, ast.Constant) and node.value in TAMPER_EVENTS:
            found.append(f"events:{node.value}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                text = ast.unparse(target)
                if text.startswith(("sys.modules", "builtins.", "course.")) or "checks." in text:
                    found.append(f"присваивание {text}")
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("setattr", "delattr"):
            if node.args and not isinstance(node.args[0], ast.Name | ast.Attribute) or any(
                isinstance(a, ast.Name) and a.id in ("builtins", "checks", "sys") for a in node.args[:1]
            ):
                found.append(ast.unparse(node.func))
            elif node.args and ast.unparse(node.args[0]).startswith(("course", "builtins", "sys")):
                found.append(ast.unparse(node.func))
    return sorted(set(found))


def scan_notebook(nb: Any) -> list[str]:
    """Причины (по ячейкам, которые правит студент) для статической пометки работы."""
    reasons = []
    for number, cell in enumerate(nb.cells, start=1):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade") and not meta.get("solution"):
            continue
        found = scan_source(cell.source)
        if found:
            where = meta.get("grade_id") or f"ячейка {number}"
            reasons.append(
                f"{where}: в коде средства подмены проверки или чтения её исходника ({', '.join(found)})"
            )
    return reasons


# ----------------------------------------------------------------- зонд и канарейки

PROBE = r'''
def _course_probe(nonce, total, modules):
    import builtins, hashlib, sys, types

    def name(obj):
        obj = getattr(obj, "__func__", obj)
        code = getattr(obj, "__code__", None)
        where = code.co_filename if code is not None else ""
        qualname = getattr(obj, "__qualname__", type(obj).__qualname__)
        return f"{getattr(obj, '__module__', '?')}.{qualname}@{where}"

    def code_hash(code, h):
        h.update(code.co_code)
        h.update(repr(code.co_names).encode())
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                code_hash(const, h)
            else:
                h.update(repr(const).encode())

    def helpers(module):
        out = {"__file__": getattr(module, "__file__", None), "__type__": type(module).__name__}
        for key, value in sorted(vars(module).items()):
            targets = [(key, value)]
            if isinstance(value, type) and value.__module__ == module.__name__:
                targets += [(f"{key}.{k}", v) for k, v in sorted(vars(value).items())]
            for label, func in targets:
                func = getattr(func, "__func__", func)
                if isinstance(func, types.FunctionType):
                    h = hashlib.sha256()
                    code_hash(func.__code__, h)
                    out[label] = h.hexdigest()[:16]
                elif callable(func) and not isinstance(func, type) and \
                        getattr(func, "__module__", None) == module.__name__:
                    out[label] = "callable:" + type(func).__qualname__
        return out

    ip = get_ipython() if "get_ipython" in globals() or hasattr(builtins, "get_ipython") else None
    shell = {}
    if ip is not None:
        for key in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            items = getattr(ip, key, [])
            shell[key] = [type(items).__name__, *[name(t) for t in items]]
        shell["events"] = {e: [name(c) for c in cbs] for e, cbs in sorted(ip.events.callbacks.items())}
        shell["custom_exceptions"] = repr(ip.custom_exceptions)
        wrapped = getattr(getattr(ip, "CustomTB", None), "__func__", None)
        cells = [c.cell_contents for c in (getattr(wrapped, "__closure__", None) or ())]
        shell["custom_handler"] = [name(c) for c in cells if isinstance(c, types.FunctionType)]
        shell["overrides"] = sorted(k for k in vars(ip) if k in (
            "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell", "transform_ast",
            "showtraceback", "_showtraceback", "should_run_async", "showsyntaxerror", "compile", "events"))
        shell["class"] = [name(getattr(type(ip), m)) for m in (
            "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell", "showtraceback",
            "_showtraceback")]
        shell["compile"] = type(ip.compile).__qualname__
    state = {
        "nonce": nonce, "total": total, "shell": shell,
        "helpers": {m: helpers(sys.modules[m]) for m in modules if m in sys.modules},
        "import": type(builtins.__import__).__name__ + ":" + getattr(builtins.__import__, "__module__", "?"),
        "exec": type(builtins.exec).__name__,
        "trace": sys.gettrace() is None, "profile": sys.getprofile() is None,
    }
    return state
'''


def helper_fingerprints() -> dict[str, dict[str, str]]:
    """Отпечатки тест-помощников, как они лежат в установленных файлах (на стороне проверки)."""
    import importlib

    scope: dict[str, Any] = {}
    exec(PROBE, scope)  # noqa: S102 — свой код: тот же расчёт, что и в ядре
    probe = scope["_course_probe"]
    for module in HELPER_MODULES:
        importlib.import_module(module)
    return probe("", 0, HELPER_MODULES)["helpers"]


class Canary:
    """Одна проверка ядра — одна контрольная ячейка со свежими случайными числами.

    Ячейка печатает ответ зонда (обязана дойти до print), зовёт `expect_equal` из
    `course.checks` с неравными числами (обязан упасть с нашим текстом) и заканчивается
    `assert`, который обязан упасть с текстом, включающим оба ответа. Одна поездка к ядру
    вместо трёх: проверка перед и после каждого теста стоит одну ячейку.
    """

    def __init__(self) -> None:
        self.a, self.b = secrets.randbelow(10**9), secrets.randbelow(10**9) + 10**9
        self.nonce, self.helper_nonce = secrets.token_hex(8), secrets.token_hex(8)

    def source(self) -> str:
        return (
            "exec(compile(" + repr(PROBE) + ", '<course-probe>', 'exec'), _course_ns := {'get_ipython': "
            "get_ipython})\nprint('COURSE-PROBE ' + __import__('json').dumps(_course_ns['_course_probe']("
            f"{self.nonce!r}, {self.a} + {self.b}, {list(HELPER_MODULES)!r}), sort_keys=True))\n"
            "del _course_ns\n"
            "from course.checks import ExerciseFailure as _course_F, expect_equal as _course_eq\n"
            "try:\n"
            f"    _course_eq({self.a}, {self.b}, {self.helper_nonce!r})\n"
            "    _course_r = 'помощник не упал'\n"
            "except _course_F as _course_x:\n"
            "    _course_r = str(_course_x)\n"
            f"assert {self.a} == {self.b}, {self.nonce!r} + ' ' + _course_r"
        )

    def judge(self, reply: dict, outputs: list) -> tuple[dict | None, str | None]:
        """(состояние ядра из зонда, None) — если ячейка отработала как написана; иначе (…, причина)."""
        state = None
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        for line in text.splitlines():
            if line.startswith("COURSE-PROBE "):
                try:
                    found = json.loads(line.removeprefix("COURSE-PROBE "))
                except ValueError:
                    break
                if found.get("nonce") == self.nonce and found.get("total") == self.a + self.b:
                    state = found
                break
        errors = [o for o in outputs if o.get("output_type") == "error"]
        last = errors[-1] if errors else {}
        evalue = str(last.get("evalue", ""))
        if reply.get("status") != "error":
            return state, "контрольная ячейка прошла, хотя обязана упасть (ячейки пропускаются)"
        if last.get("ename") != "AssertionError" or self.nonce not in evalue:
            return state, "контрольная ячейка упала не так, как должна (исключение подменено или стёрто)"
        if self.helper_nonce not in evalue:
            return state, "помощник course.checks не упал на неверном ответе (подменён)"
        if state is None:
            return None, "ответ зонда в контрольной ячейке подменён или стёрт"
        return state, None


def _course_handler(name: str) -> bool:
    """Обработчик исключений — из установленного course.checks (а не из ячейки студента)."""
    import IPython.core.interactiveshell as shell

    import course.checks

    if name.startswith("IPython.core.interactiveshell.InteractiveShell.set_custom_exc."):
        return name.endswith("@" + shell.__file__)  # обёртка самого IPython вокруг обработчика
    return name.startswith("course.checks.") and name.endswith("@" + course.checks.__file__)


def compare(baseline: dict, state: dict, helpers: dict) -> list[str]:
    """Отличия состояния ядра от эталона (снятого до кода студента) и от файлов курса."""
    problems = []
    base, now = baseline.get("shell", {}), state.get("shell", {})
    for key in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        if now.get(key) != base.get(key):
            problems.append(f"изменены {key} IPython")
    for event in TAMPER_EVENTS:
        before = base.get("events", {}).get(event, [])
        added = [c for c in now.get("events", {}).get(event, []) if c not in before]
        added = [c for c in added if not c.startswith(("matplotlib_inline.", "ipykernel.", "IPython."))
                 or "@<" in c or "/ipykernel_" in c]
        if added or any(c not in now.get("events", {}).get(event, []) for c in before):
            problems.append(f"изменены обработчики события {event}")
    for key in ("overrides", "class", "compile"):
        if now.get(key) != base.get(key):
            problems.append(f"подменено выполнение ячеек IPython ({key})")
    handler = now.get("custom_handler")
    if handler != base.get("custom_handler") and not all(_course_handler(h) for h in handler or ["?"]):
        # course.notebook.check_python() ставит свой обработчик (заготовка → «ещё не решено»): он свой
        problems.append("подменена обработка исключений IPython (set_custom_exc)")
    for module, expected in helpers.items():
        got = state.get("helpers", {}).get(module)
        if got is None:
            continue  # модуль ещё не импортирован: подменять нечего
        changed = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))
        if changed:
            problems.append(f"подменены помощники {module} ({', '.join(changed[:5])})")
    for key in ("import", "exec", "trace", "profile"):
        if state.get(key) != baseline.get(key):
            problems.append(f"подменено {key}")
    return problems


# ----------------------------------------------------------------- итог для course grade


def collect_flags(nb: Any, outcome: dict) -> None:
    """Пометки подмены из оценённого ноутбука → `outcome["flagged"]` и причины."""
    for number, cell in enumerate(nb.cells, start=1):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"ячейка {number}"
        for out in cell.get("outputs", []):
            if out.get("ename") == TAMPERED:
                outcome.setdefault("flagged", {})[grade_id] = str(out.get("evalue"))
                outcome.setdefault("reasons", []).append(f"{grade_id}: {out.get('evalue')}")


def _level_text(level: str, texts: dict[str, str]) -> str:
    """«user (ядро читает: …)» → описание уровня и что открыто (см. `sandbox.open_to_kernel`)."""
    base, _, detail = level.partition(" (")
    if base not in texts:
        return level
    return f"{texts[base]}, {detail.rstrip(')')}" if detail else texts[base]


def seal_summary(results: list) -> list[str]:
    """Строки итога `course grade`: уровень песочницы и работы, которые ждут учителя."""
    from course.grading.sandbox import LEVEL_TEXT

    lines = []
    levels = sorted({r.isolation for r in results if getattr(r, "isolation", "")})
    if levels:
        lines.append("изоляция работ: " + "; ".join(_level_text(x, LEVEL_TEXT) for x in levels))
    for level in levels:
        if level.startswith("user (ядро читает:"):  # sandbox.open_to_kernel
            lines.append(f"ВНИМАНИЕ: {level.removeprefix('user (').rstrip(')')} — без пространств имён "
                         "их закрывают только права; закройте папку курса для других: chmod o-rwx <папка>")
    manual = [r.student for r in results if getattr(r, "flagged", None)]
    if manual:
        lines.append(f"{MANUAL} (подмена проверки, баллы за тесты не начислены): {', '.join(manual)}")
    return lines
