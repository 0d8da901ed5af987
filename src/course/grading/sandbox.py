"""Песочница ядра при проверке: код студента видит только себя.

Зачем: ядро, запущенное nbgrader'ом «как есть», работает в папке курса от имени учителя —
код студента может дойти до `gradebook.db`, чужих работ, `source/` со скрытыми тестами,
оставить процесс, переживший проверку (двойной fork + setsid), или записать 2 ГБ в
`autograded/`. Здесь ядро и все его потомки запускаются в песочнице.

Уровни (от сильного к слабому; достигнутый пишется в итог и CSV `course grade`):

- `namespaces` — bubblewrap (`bwrap`): свои пространства имён user/mount/pid/net/ipc/uts.
  Видно только: окружение Python и пакет `course` (только чтение), системные `/usr`, `/lib`,
  часть `/etc`; домашняя папка `/home/student` и `/tmp` — tmpfs с пределом размера; сеть —
  только своя петля 127.0.0.1 (демо-серверы курса работают); своё дерево pid: убить ядро —
  значит убить всех потомков, даже ушедших в `setsid`. С ядром nbclient говорит через
  unix-сокеты (`transport="ipc"`) в папке, которая видна и снаружи, и внутри.
- `user` — пространства имён недоступны, но проверка идёт от root: ядро работает от
  отдельного непривилегированного пользователя (`nobody`) в личной папке вне курса.
- `dir` — ни того ни другого (учитель без прав, userns запрещён AppArmor): личная папка
  вне курса, и только. Код студента может прочитать всё, что может учитель, — итог
  говорит об этом прямо.
- `off` — песочница выключена (`COURSE_SANDBOX=off` или `RobustExecute.sandbox = False`).

Почему bubblewrap, а не `unshare` или системные вызовы напрямую: он делает ровно нужное
(pivot_root в пустой tmpfs, привязки только для чтения, tmpfs с `--size`, петля в своей
сети, `--die-with-parent`, сброс capabilities и `no_new_privs`, запрет вложенных userns) за
несколько миллисекунд, не требует setuid и десятилетие проверяется Flatpak'ом. `unshare`
не умеет собрать дерево монтирования без оболочки-скрипта, а своё решение на `ctypes`
пришлось бы отлаживать и сопровождать нам.

Запасное ядро (`RobustExecute.prestart_kernel`) стартует в пустой песочнице до того, как
известна работа; файлы работы копируются в её домашнюю папку потом, через
`/proc/<pid>/root` — без перезапуска и за доли миллисекунды.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.manager import AsyncKernelManager

NAMESPACES, USER, DIR, OFF = "namespaces", "user", "dir", "off"
LEVELS = (NAMESPACES, USER, DIR, OFF)
LEVEL_TEXT = {
    NAMESPACES: "полная (bubblewrap: свои файлы, процессы и сеть)",
    USER: "частичная (отдельный пользователь, без пространств имён)",
    DIR: "слабая (только личная папка: код работы может читать файлы учителя)",
    OFF: "нет (песочница выключена)",
}
HOME = "/home/student"  # домашняя и рабочая папка ядра внутри песочницы
DISK_MB = 256  # предел каждой tmpfs (домашняя папка и /tmp)
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "localtime", "passwd",
       "group", "nsswitch.conf", "hosts", "mime.types", "fonts", "matplotlibrc", "alternatives"]
ENV_KEEP = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "NBGRADER_EXECUTION", "MPLBACKEND", "PYTHONHASHSEED",
            "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "COURSE_FAILURE_PICTURES")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def requested_level() -> str | None:
    """Уровень, заданный переменной `COURSE_SANDBOX` (для проверки запасных путей), или None."""
    wanted = os.environ.get("COURSE_SANDBOX", "").strip().lower()
    return wanted if wanted in LEVELS else None


@lru_cache(maxsize=1)
def _namespaces_work() -> bool:
    """bwrap есть и пространства имён разрешены (AppArmor Ubuntu может запретить userns)."""
    bwrap = bwrap_path()
    if not bwrap:
        return False
    try:
        done = subprocess.run(
            [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "true"],
            capture_output=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@lru_cache(maxsize=1)
def _separate_user_works() -> bool:
    """От root: Python окружения запускается от `nobody` (не запустится, если он в /root 0700)."""
    if os.geteuid() != 0:
        return False
    try:
        nobody = pwd.getpwnam("nobody")
        done = subprocess.run([sys.executable, "-c", "import course, ipykernel"], capture_output=True,
                              timeout=60, user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd="/")
    except (OSError, KeyError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def readable_by_kernel_user(paths: list[Path]) -> list[Path]:
    """Какие из `paths` может прочитать пользователь ядра уровня `user` (`nobody`).

    На этом уровне нет своего дерева файлов: от базы оценок, исходников со скрытыми тестами и
    чужих работ ядро отделяют только права доступа. Проверяем их от имени `nobody` (`test -r`
    учитывает и проходимость родительских папок) — и говорим учителю, если что-то открыто.
    """
    if os.geteuid() != 0 or not paths:
        return []
    try:
        nobody = pwd.getpwnam("nobody")
        done = subprocess.run(
            ["/bin/sh", "-c", 'for p; do [ -r "$p" ] && printf "%s\\n" "$p"; done; exit 0', "sh",
             *map(str, paths)],
            capture_output=True, text=True, timeout=30, cwd="/",
            user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[],
        )
    except (OSError, KeyError, subprocess.TimeoutExpired):
        return []
    return [Path(line) for line in done.stdout.splitlines() if line]


def open_to_kernel(level: str, paths: list[Path]) -> str:
    """Уровень для итога и CSV: `user` с перечнем того, что ядро может прочитать, если такое есть."""
    exposed = readable_by_kernel_user(paths) if level == USER else []
    if not exposed:
        return level
    return f"{USER} (ядро читает: {', '.join(p.name for p in exposed)})"


def available_level() -> str:
    """Самый сильный уровень изоляции, доступный здесь (или заданный `COURSE_SANDBOX`)."""
    wanted = requested_level()
    if wanted == OFF:
        return OFF
    if wanted in (None, NAMESPACES) and _namespaces_work():
        return NAMESPACES
    if wanted in (None, NAMESPACES, USER) and _separate_user_works():
        return USER
    return DIR


def isolation_note(config: dict) -> str:
    """Уровень изоляции, с которым работник `course grade` запускает ядра (для итога и CSV)."""
    enabled = (config.get("RobustExecute") or {}).get("sandbox", False)
    return available_level() if enabled else OFF


def python_roots() -> list[str]:
    """Что нужно ядру из файловой системы: окружение, базовый Python, пакет course."""
    import course

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(course.__file__).parent)}
    # и папки пакетов, подключённые через .pth (site.addsitedir) вне sys.prefix — только
    # site-packages: в sys.path бывает и папка курса (nbgrader кладёт туда cwd)
    roots |= {p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")}
    return sorted(r for r in roots if os.path.isdir(r))


class Sandbox:
    """Одна песочница = одно ядро. `run/` — сокеты и файл соединения; `home/` — только для `dir`/`user`."""

    def __init__(self, level: str, disk_mb: int = DISK_MB) -> None:
        self.level, self.disk_mb = level, disk_mb
        self.root = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        self.run = self.root / "run"
        self.run.mkdir()
        self.home = self.root / "home"
        self.home.mkdir()
        self.kernel_pid: int | None = None  # pid процесса bwrap / ядра снаружи
        self.uid = self.gid = None
        if level == USER:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            for path in (self.root, self.run, self.home):
                os.chown(path, self.uid, self.gid)
            os.chmod(self.root, 0o711)
        else:
            os.chmod(self.root, 0o700)

    # --------------------------------------------------------------- запуск

    def wrap(self, command: list[str], env: dict[str, str]) -> list[str]:
        """Команда ядра, обёрнутая в песочницу (для `namespaces`), иначе как есть."""
        if self.level != NAMESPACES:
            return command
        bwrap = bwrap_path() or "bwrap"
        size = str(self.disk_mb * 2**20)
        args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                "--clearenv", "--uid", "1000", "--gid", "1000", "--hostname", "sandbox"]
        for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64"):
            if os.path.lexists(f"/{top}"):
                kind = "--symlink" if os.path.islink(f"/{top}") else "--ro-bind"
                args += [kind, os.readlink(f"/{top}") if kind == "--symlink" else f"/{top}", f"/{top}"]
        for name in ETC:
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        # Сначала пустые /tmp и домашняя папка, потом привязки: окружение курса может само лежать
        # в /tmp (так бывает у CI и у временных клонов) и должно остаться видным поверх tmpfs.
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", HOME]
        for root in python_roots():
            args += ["--ro-bind", root, root]
        args += ["--bind", str(self.run), str(self.run), "--chdir", HOME]
        for key, value in self.environment(env).items():
            args += ["--setenv", key, value]
        return [*args, "--", *command]

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """Переменные окружения ядра: без путей учителя (HOME, PWD, VIRTUAL_ENV…)."""
        kept = {k: v for k, v in env.items() if k in ENV_KEEP}
        home = HOME if self.level == NAMESPACES else str(self.home)
        kept.update(HOME=home, USER="student", TMPDIR="/tmp" if self.level == NAMESPACES else home,
                    PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
                    MPLCONFIGDIR=f"{home}/.matplotlib", IPYTHONDIR=f"{home}/.ipython",
                    JUPYTER_RUNTIME_DIR=str(self.run), PYTHONNOUSERSITE="1")
        return kept

    def launch_options(self) -> dict[str, Any]:
        """Аргументы Popen для ядра: папка и пользователь (уровни `user` и `dir`)."""
        if self.level == NAMESPACES:
            return {"cwd": str(self.run)}
        options: dict[str, Any] = {"cwd": str(self.home)}
        if self.level == USER:
            options.update(user=self.uid, group=self.gid, extra_groups=[])
        return options

    # --------------------------------------------------------------- работа

    def inside(self) -> Path:
        """Домашняя папка ядра, как её видно снаружи (для namespaces — через /proc/<pid>/root)."""
        if self.level != NAMESPACES:
            return self.home
        for proc in self._descendants():
            candidate = Path(f"/proc/{proc.pid}/root{HOME}")
            try:
                if candidate.is_dir():
                    return candidate
            except OSError:
                continue
        raise RuntimeError("песочница ядра не найдена (ядро завершилось?)")

    def populate(self, folder: str | None, notebook: Any = None, name: str = "") -> None:
        """Положить в песочницу файлы работы: всё из `folder`, кроме ноутбуков, и копию ноутбука.

        Ноутбук кладётся без скрытых тестов: код студента не должен прочитать их раньше,
        чем они выполнятся.
        """
        target = self.inside()
        if folder and os.path.isdir(folder):
            for entry in os.scandir(folder):
                if entry.name.endswith(".ipynb") or entry.name.startswith("."):
                    continue
                dest = target / entry.name
                if entry.is_dir(follow_symlinks=False):
                    shutil.copytree(entry.path, dest, symlinks=True, dirs_exist_ok=True)
                elif entry.is_file(follow_symlinks=False):
                    shutil.copyfile(entry.path, dest)
        if notebook is not None and name:  # json напрямую: проверка схемы nbformat стоит десятки мс
            import json

            from course.grading.feedback import without_hidden_tests

            (target / name).write_text(json.dumps(without_hidden_tests(notebook), ensure_ascii=False),
                                       encoding="utf-8")
        if self.level == USER:
            for path in [target, *target.rglob("*")]:
                os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def _descendants(self) -> list[psutil.Process]:
        if self.kernel_pid is None:
            return []
        try:
            return psutil.Process(self.kernel_pid).children(recursive=True)
        except psutil.Error:
            return []

    def interrupt(self) -> None:
        """SIGINT ядру внутри песочницы (и его группе), не самому bwrap."""
        for proc in self._descendants():
            try:
                if "ipykernel" in " ".join(proc.cmdline()):
                    os.killpg(os.getpgid(proc.pid), signal.SIGINT)
                    return
            except (psutil.Error, OSError):
                continue

    def destroy(self) -> None:
        """Убить всё, что запущено в песочнице, и удалить её папку."""
        from course.grading.executor import kill_process_tree

        if self.kernel_pid is not None:
            kill_process_tree(self.kernel_pid)
        if self.level in (USER, DIR):  # своего дерева pid нет: добить ушедших в setsid по папке
            _kill_left_in(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def _kill_left_in(root: Path) -> None:
    """Без пространства pid: процессы, чья рабочая папка — в песочнице, остались от этой работы.

    (Не «все процессы nobody»: при `--jobs 2` там и ядро соседней работы.) Ушедший в setsid
    и сменивший папку процесс так не найти — это предел уровней `user` и `dir`.
    """
    prefix = str(root)
    for proc in psutil.process_iter(["cwd"]):
        try:
            if (proc.info["cwd"] or "").startswith(prefix):
                proc.kill()
        except psutil.Error:
            pass


class SandboxedKernelManager(AsyncKernelManager):
    """Менеджер ядра, который запускает ядро в песочнице и говорит с ним через unix-сокеты."""

    sandbox: Sandbox | None = None

    def __init__(self, **kwargs: Any) -> None:
        level = kwargs.pop("sandbox_level", None) or available_level()
        super().__init__(**kwargs)
        self.sandbox = Sandbox(level)
        self.transport = "ipc"
        self.ip = str(self.sandbox.run / "kernel")
        self.connection_file = str(self.sandbox.run / "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.wrap(command, dict(os.environ)) if self.sandbox else command

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        command, kw = await super()._async_pre_start_kernel(**kw)
        assert self.sandbox is not None
        kw["env"] = self.sandbox.environment(kw.get("env") or dict(os.environ))
        if self.sandbox.level != NAMESPACES:
            kw["env"]["PWD"] = str(self.sandbox.home)
        kw.update(self.sandbox.launch_options())
        if self.sandbox.level == USER:
            os.chmod(self.connection_file, 0o644)  # nobody должен прочитать ключ своего ядра
            os.chmod(self.sandbox.run, 0o777)
        return command, kw

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if self.sandbox is not None and process is not None:
            self.sandbox.kernel_pid = process.pid

    async def _async_interrupt_kernel(self) -> None:
        if self.sandbox is not None and self.sandbox.level == NAMESPACES:
            self.sandbox.interrupt()
            return
        await super()._async_interrupt_kernel()

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            if self.sandbox is not None and not restart:
                self.sandbox.destroy()

    interrupt_kernel = _async_interrupt_kernel  # type: ignore[assignment]
    shutdown_kernel = _async_shutdown_kernel  # type: ignore[assignment]
