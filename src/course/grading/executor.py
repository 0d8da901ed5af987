"""Выполнение работы студента, которое не ломается о плохой код.

Стоковый nbgrader теряет работу целиком, если ядро упало (`os._exit`, переполнение памяти,
лавина процессов) или ячейка зависла так, что прерывание не помогает (цикл, глушащий
SIGINT; `gevent.monkey.patch_all()` в ядре). `RobustExecute` заменяет его `Execute`:

- у каждой ячейки свой лимит времени; сторож убивает группу процессов ядра, если ячейка
  его превысила, если ядро съело больше `memory_limit_mb` или наплодило больше
  `max_processes` процессов;
- после такой ячейки ядро перезапускается, и ноутбук выполняется заново *без* неё: остальные
  упражнения всё равно оцениваются; в ячейку пишется причина по-русски;
- общий лимит на ноутбук: что не успело выполниться, помечается, а не ждёт вечно;
- от ячейки-демонстрации лекции (тег `demo_tag`, не решение и не тест) при проверке
  выполняются только её import: класс не платит за повтор лекции, а модули, которые ячейка
  ввела, остаются доступны решению студента; в отзыве у такой ячейки — пометка;
- `prestart_kernel`: ядро для следующего ноутбука запускается, как только готово ядро этого,
  и грузится, пока этот выполняется (так работает `course grade`): класс не ждёт запуска
  ядра на каждую работу. Запасное ядро стартует в пустой папке и перед ноутбуком переходит
  в папку работы; у каждой работы ядро всё равно своё, свежее.

С `sandbox = True` (так работает `course grade`) ядро запускается в песочнице (sandbox.py:
bubblewrap — своя файловая система, процессы и сеть), а перед каждым тестом и после него
проверка выполняет в ядре контрольную ячейку и зонд (integrity.py): подмена IPython или
помощников `course.checks` обнуляет затронутые тесты и помечает работу «требует ручной
проверки».

`StderrNotFatal` переносит stderr проходящих ячеек в stdout (nbgrader ставит 0 за любую
строку в stderr, даже за предупреждение), `LimitOutputBytes` режет вывод по байтам
(стоковый LimitOutput считает строки, и одна строка в 10 МБ проходит).
"""

from __future__ import annotations

import ast
import copy
import os
import shutil
import signal
import tempfile
import threading
import time
from typing import Any

import psutil
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from course.grading import integrity
from course.grading.release import DEMO_TAG

ABORTED = "ПроверкаПрервана"  # ename ошибки, которую пишет проверка (не код студента)


NOT_STARTED = -1  # «ячейка» срыва, когда ядро не запустилось и ни одна ячейка не выполнялась


def aborted_output(reason: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ABORTED, evalue=reason, traceback=[f"{ABORTED}: {reason}"]
    )


def tampered_output(reason: str) -> NotebookNode:
    """Ошибка, которой проверка обнуляет тест при подмене (nbgrader ставит 0 за ошибку)."""
    text = f"{integrity.MANUAL}: {reason}"
    return NotebookNode(output_type="error", ename=integrity.TAMPERED, evalue=text,
                        traceback=[f"{integrity.TAMPERED}: {text}"])


_FINGERPRINTS: dict = {}


def _helper_fingerprints() -> dict:
    """Отпечатки помощников из установленных файлов: считаются один раз на процесс."""
    if not _FINGERPRINTS:
        _FINGERPRINTS.update(integrity.helper_fingerprints())
    return _FINGERPRINTS


def demo_note() -> NotebookNode:
    return NotebookNode(
        output_type="stream", name="stdout", text="(демонстрация из лекции: при проверке не выполняется)\n"
    )


def demo_imports(source: str) -> str:
    """Только import верхнего уровня из кода ячейки (весь код, если он не разбирается)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # магия IPython и т. п.: выполнить как есть, ничего не теряя
        return source
    imports = (n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    return "\n".join(ast.get_source_segment(source, n) or "" for n in imports)


class _Watchdog:
    """Следит за ядром во время одной ячейки и убивает его группу процессов при нарушении."""

    def __init__(self, pid: int, deadline: float, memory_mb: int, max_processes: int) -> None:
        self.pid, self.deadline = pid, deadline
        self.memory_mb, self.max_processes = memory_mb, max_processes
        self.reason: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="course-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            reason = self._violation()
            if reason:
                self.reason = reason
                kill_process_tree(self.pid)
                return

    def _violation(self) -> str | None:
        if time.monotonic() > self.deadline:
            return "timeout"
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree if p.is_running())
        except psutil.Error:
            return None
        if len(tree) > self.max_processes:
            return f"процессов стало {len(tree)} (предел {self.max_processes}): похоже на лавину процессов"
        if rss > self.memory_mb * 2**20:
            return f"память превысила {self.memory_mb} МБ: похоже на утечку или «бомбу» памяти"
        return None


def kill_process_tree(pid: int) -> None:
    """Убить процесс, его группу и всех потомков (SIGKILL); тихо, если их уже нет."""
    try:
        victims = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        victims = []
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in victims:
        try:
            proc.kill()
        except psutil.Error:
            pass


class _Spare:
    """Ядро, запущенное заранее (одно на процесс): менеджер, папка и pid."""

    km: Any = None
    folder: str | None = None

    @classmethod
    def take(cls) -> Any:
        km, cls.km = cls.km, None
        return km

    @classmethod
    def pid(cls) -> int | None:
        process = getattr(getattr(cls.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    @classmethod
    def shutdown(cls) -> None:
        km = cls.take()
        if km is not None:
            from jupyter_core.utils import run_sync

            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001 — ядро уже мертво: убрать его процессы и забыть
                process = getattr(km.provisioner, "process", None)
                if process is not None:
                    kill_process_tree(process.pid)
        if cls.folder:
            shutil.rmtree(cls.folder, ignore_errors=True)
            cls.folder = None


def spare_kernel_pid() -> int | None:
    """pid ядра, запущенного заранее для следующей работы (его не убивать после этой)."""
    return _Spare.pid()


def shutdown_spare_kernel() -> None:
    _Spare.shutdown()


class RobustExecute(Execute):
    """Execute nbgrader'а с лимитами, перезапуском ядра и пропуском «убийственных» ячеек."""

    max_restarts = Integer(4, help="сколько раз можно перезапустить ядро на один ноутбук").tag(
        config=True
    )
    notebook_timeout = Integer(300, help="общий лимит на выполнение ноутбука, с").tag(config=True)
    memory_limit_mb = Integer(2048, help="предел памяти ядра вместе с потомками, МБ").tag(config=True)
    max_processes = Integer(64, help="предел числа процессов ядра вместе с потомками").tag(
        config=True
    )
    demo_tag = Unicode(
        DEMO_TAG, help="тег ячеек-демонстраций лекции, которые при проверке не выполняются "
        "(ячейки решений и тестов выполняются всегда, даже с этим тегом)"
    ).tag(config=True)
    prestart_kernel = Bool(
        False, help="как только ядро готово, запускать ядро для следующего ноутбука (для course grade)"
    ).tag(config=True)
    sandbox = Bool(
        False, help="запускать ядро в песочнице (см. sandbox.py) и проверять его на подмену "
        "(канарейки, зонд, статический поиск — см. integrity.py); включает course grade"
    ).tag(config=True)
    canary_timeout = Integer(20, help="предел одной контрольной ячейки, с").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None):
        pristine = copy.deepcopy(nb.cells)
        skipped: dict[int, str] = {}
        self._tampered: dict[int, str] = {}
        if self.sandbox:
            self._use_sandbox()
            static = integrity.scan_notebook(nb)
            if static:  # подмена видна в самом коде: баллов нет ни за один тест
                for index in self._graded(nb.cells):
                    self._tampered.setdefault(index, "; ".join(static))
        started = time.monotonic()
        not_started = ""
        for _ in range(self.max_restarts + 1):
            nb.cells = copy.deepcopy(pristine)
            failure = self._run_once(nb, resources, skipped, started)
            if failure is None:
                break
            if failure[0] == NOT_STARTED:  # ни одна ячейка не виновата: просто пробуем ещё раз
                not_started = failure[1]
                continue
            not_started = ""
            skipped[failure[0]] = failure[1]
        else:
            reason = f"ядро перезапускалось {self.max_restarts} раз — дальше ячейки не выполнялись"
            if not_started:
                reason = f"ядро не запустилось (попыток: {self.max_restarts + 1}): {not_started}"
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and index not in skipped and not cell.get("outputs"):
                    skipped[index] = reason
        for index, reason in skipped.items():
            nb.cells[index].outputs = [aborted_output(reason)]
        for index, reason in self._tampered.items():
            nb.cells[index].outputs = [*nb.cells[index].get("outputs", []), tampered_output(reason)]
        return nb, self.resources

    def _use_sandbox(self) -> None:
        from course.grading.sandbox import SandboxedKernelManager, available_level

        if available_level() != "off":
            self.kernel_manager_class = SandboxedKernelManager

    @staticmethod
    def _graded(cells: list) -> list[int]:
        """Индексы тест-ячеек (оцениваемых и не являющихся решением)."""
        metas = [(c.cell_type, c.metadata.get("nbgrader", {})) for c in cells]
        return [i for i, (kind, m) in enumerate(metas)
                if kind == "code" and m.get("grade") and not m.get("solution")]

    def _start_spare(self) -> None:
        """Запустить ядро для следующей работы: оно грузится, пока идёт эта."""
        from jupyter_core.utils import run_sync

        _Spare.shutdown()
        _Spare.folder = tempfile.mkdtemp(prefix="course-kernel-")
        arguments = list(self.extra_arguments)  # те же аргументы, что у ядра этой работы
        if self.ipython_hist_file and not any(a.startswith("--HistoryManager.hist_file") for a in arguments):
            arguments.append(f"--HistoryManager.hist_file={self.ipython_hist_file}")
        named = {"kernel_name": self.kernel_name} if self.kernel_name else {}
        km = self.kernel_manager_class(config=self.config, **named)
        try:  # окружение — текущее: под nbgrader в нём уже NBGRADER_EXECUTION
            run_sync(km.start_kernel)(extra_arguments=arguments, cwd=_Spare.folder)
        except Exception:  # noqa: BLE001 — не вышло заранее: следующий ноутбук запустит сам
            return
        _Spare.km = km

    def _take_spare(self, resources: Any) -> None:
        """Взять запасное ядро (если есть) и перевести его в папку работы."""
        km = _Spare.take()
        if km is None:
            return
        wanted = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name") or km.kernel_name
        if km.kernel_name != wanted:  # ноутбук на другом ядре: запасное не годится
            _Spare.km = km
            _Spare.shutdown()
            return
        self.km, self.owns_km = km, True
        self._spare_cwd = (resources or {}).get("metadata", {}).get("path") or None

    def _run_once(self, nb, resources, skipped, started) -> tuple[int, str] | None:
        """Выполнить ноутбук, пропуская `skipped`; вернуть (ячейка, причина) при срыве."""
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, None)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._spare_cwd = None
        if self.prestart_kernel:
            self._take_spare(resources)
        ready = False
        try:
            with self.setup_kernel():
                self.wait_for_reply(self.kc.kernel_info())
                if self.prestart_kernel:
                    self._start_spare()
                box = getattr(self.km, "sandbox", None)
                if box is not None:  # файлы работы — в песочницу (ядро уже в её домашней папке)
                    path = (resources or {}).get("metadata", {}).get("path")
                    name = (resources or {}).get("unique_key", "notebook") + ".ipynb"
                    box.populate(path, self.nb, name)
                elif self._spare_cwd:
                    moved = self.kc.execute(
                        f"import os as _os; _os.chdir({self._spare_cwd!r}); del _os",
                        silent=True, store_history=False,
                    )
                    self.wait_for_reply(moved)
                checking = box is not None
                baseline = self._baseline() if checking else None
                graded = set(self._graded(self.nb.cells))
                ready = True
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code" or index in skipped:
                        continue
                    left = self.notebook_timeout - (time.monotonic() - started)
                    if left <= 0:
                        for later, rest in enumerate(self.nb.cells[index:], start=index):
                            if rest.cell_type == "code" and later not in skipped:
                                skipped[later] = (
                                    f"не выполнялась: весь ноутбук не уложился в {self.notebook_timeout} с"
                                )
                        return None
                    if checking and index in graded:
                        problem = self._check_kernel(baseline)
                        if problem:
                            self._flag_from([], index, graded, problem)
                            return None
                    demo = self._is_demo(cell)
                    if demo:
                        source, cell.source = cell.source, demo_imports(cell.source)
                        if not cell.source:
                            cell.source, cell.outputs = source, [demo_note()]
                            continue
                    verdict = self._run_cell(cell, resources, index, min(self.timeout or 30, left))
                    if demo:
                        cell.source, cell.outputs = source, [demo_note(), *cell.outputs]
                    if verdict:
                        return index, verdict
                    if checking and index in graded:
                        if self._reply_status == "error" and not any(
                            o.get("output_type") == "error" for o in cell.outputs
                        ):
                            self._tampered[index] = "ячейка упала, но её traceback стёрт из вывода"
                        problem = self._check_kernel(baseline)  # и после теста: подмена во время него
                        if problem:
                            self._flag_from([index], index + 1, graded, problem)
                            return None
        except Exception as error:  # noqa: BLE001 — разбираем ниже
            if not ready:  # ядро не поднялось (занятый порт, перегрузка): работа тут ни при чём
                return NOT_STARTED, f"{type(error).__name__}: {error}"[:300]
            if isinstance(error, DeadKernelError):
                return self._last_index, (
                    "ядро Python завершилось аварийно (os._exit, сбой или нехватка памяти)"
                )
            raise
        return None

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):  # noqa: ANN001
        """Запомнить статус ответа ядра: он приходит отдельно от вывода, который можно стереть."""
        self._reply_status = ((exec_reply or {}).get("content") or {}).get("status")
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    def _flag_from(self, cells: list[int], index: int, graded: set[int], problem: str) -> None:
        """Подмена замечена: `cells` и все тесты начиная с `index` — без баллов."""
        for cell_index in [*cells, *sorted(i for i in graded if i >= index)]:
            self._tampered.setdefault(cell_index, problem)

    def _run_probe_cell(self, source: str, index: int) -> tuple[dict, list]:
        """Выполнить свою контрольную ячейку в ядре (без истории, мимо ноутбука); вернуть
        (ответ, вывод). Вывод собирается из IOPub по id запроса — как его увидел бы nbclient."""
        from jupyter_core.utils import run_sync

        saved_timeout, self.timeout = self.timeout, self.canary_timeout
        try:
            return run_sync(self._async_probe)(source)
        except Exception as error:  # noqa: BLE001 — ядро не ответило на контрольную ячейку
            return {"status": f"сбой: {type(error).__name__}"}, []
        finally:
            self.timeout = saved_timeout

    async def _async_probe(self, source: str) -> tuple[dict, list]:
        from nbclient.util import ensure_async

        msg_id = await ensure_async(self.kc.execute(source, store_history=False, allow_stdin=False))
        deadline = time.monotonic() + self.canary_timeout
        reply = await self.async_wait_for_reply(msg_id)
        outputs: list[dict] = []
        while time.monotonic() < deadline:
            msg = await ensure_async(self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic())))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind == "error":
                outputs.append({"output_type": "error", **{k: content[k] for k in ("ename", "evalue")}})
            elif kind == "clear_output":
                outputs = []
            elif kind == "status" and content["execution_state"] == "idle":
                break
        return {"status": ((reply or {}).get("content") or {}).get("status")}, outputs

    def _baseline(self) -> dict | None:
        """Состояние ядра до кода студента: эталон для зонда (None — не снялся)."""
        canary = integrity.Canary()
        state, _ = canary.judge(*self._run_probe_cell(canary.source(), 0))
        return state

    def _check_kernel(self, baseline: dict | None) -> str | None:
        """Канарейка и зонд; вернуть причину подмены или None, если всё как должно быть.

        Проверка идёт перед каждым тестом (подмена в коде студента) и после него (подмена,
        сработавшая во время теста): так под подозрение попадает только сам тест.
        """
        began = time.perf_counter()
        try:
            canary = integrity.Canary()
            state, problem = canary.judge(*self._run_probe_cell(canary.source(), 0))
            if problem or state is None:
                return problem
            problems = integrity.compare(baseline or state, state, _helper_fingerprints())
            return "; ".join(problems) or None
        finally:
            self.check_seconds = getattr(self, "check_seconds", 0.0) + time.perf_counter() - began

    def _is_demo(self, cell: NotebookNode) -> bool:
        """Демонстрация лекции: помечена тегом и не несёт ни решения, ни баллов.

        Тег ставит автор курса, но метаданные ячейки может поменять и студент: поэтому
        решения и тесты выполняются всегда — пометкой тест не отключить.
        """
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("grade"):
            return False
        return bool(self.demo_tag) and self.demo_tag in cell.metadata.get("tags", [])

    def _run_cell(self, cell, resources, index, limit: float) -> str | None:
        self._last_index = index
        self._reply_status = None
        pid = self.km.provisioner.process.pid
        dog = _Watchdog(pid, time.monotonic() + limit + 5, self.memory_limit_mb, self.max_processes)
        saved_timeout, self.timeout = self.timeout, int(max(1, limit))
        try:
            self.preprocess_cell(cell, resources, index)
        except DeadKernelError:
            return self._explain(dog, limit) or (
                "ядро Python завершилось аварийно во время этой ячейки "
                "(os._exit, sys.exit в потоке, сбой C-кода или нехватка памяти)"
            )
        finally:
            self.timeout = saved_timeout
            dog.stop()
        if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            kill_process_tree(pid)
            return self._explain(dog, limit) or self._timeout_text(limit)
        return self._explain(dog, limit)

    def _explain(self, dog: _Watchdog, limit: float) -> str | None:
        if dog.reason == "timeout":
            return self._timeout_text(limit)
        return dog.reason

    @staticmethod
    def _timeout_text(limit: float) -> str:
        return (
            f"ячейка не завершилась за {limit:.0f} с: похоже на взаимоблокировку, бесконечный цикл "
            "или ожидание, которое никто не разбудит"
        )


#: Так начинается трассировка группы исключений (traceback.print_exception). Только её и держим за
#: падение: обычная трассировка в stderr — это, например, исключение в чужом потоке (тема 02).
_GROUP_TRACEBACK = "Exception Group Traceback (most recent call last)"


class StderrNotFatal(NbGraderPreprocessor):
    """stderr в ячейке без ошибки — не повод ставить 0: переносим его в stdout с пометкой.

    Кроме трассировки группы исключений: IPython 9 показывает ExceptionGroup (из TaskGroup) не
    ошибкой ячейки, а текстом в stderr. Такая ячейка упала — stderr остаётся, и nbgrader ставит
    0, как за любую ошибку.
    """

    def preprocess_cell(self, cell, resources, index):
        crashed = any(
            o.output_type == "stream" and o.name == "stderr" and _GROUP_TRACEBACK in o.text
            for o in cell.get("outputs", [])
        )
        failed = crashed or any(o.output_type == "error" for o in cell.get("outputs", []))
        if cell.cell_type == "code" and not failed:
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "[stderr] " + output.text
        return cell, resources


class LimitOutputBytes(NbGraderPreprocessor):
    """Ограничить вывод ячейки по байтам: 10 МБ в одной строке не должны попасть в отзыв."""

    max_bytes = Integer(200_000, help="предел вывода одной ячейки, байт").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget, kept = self.max_bytes, []
        for output in cell.outputs:
            size = len(str(output).encode("utf-8"))
            if size <= budget or output.output_type == "error":
                kept.append(output)
                budget -= min(size, budget)
            elif output.output_type == "stream":
                output.text = output.text[: max(budget, 0) // 4] + (
                    f"\n… вывод обрезан: больше {self.max_bytes} байт …\n"
                )
                kept.append(output)
                budget = 0
        cell.outputs = kept
        return cell, resources
