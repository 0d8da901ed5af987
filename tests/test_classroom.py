"""Класс на JupyterHub от начала до конца, на 127.0.0.1 и без сети.

Настоящий JupyterHub с конфигурацией autograder/classroom/ (её же ставят на сервер), прокси
configurable-http-proxy из npm (ставится в build/chp), DummyAuthenticator и
SimpleLocalProcessSpawner (все от текущего пользователя, у каждого свой домашний каталог).
Преподаватель выпускает 01-basics; студенты работают так же, как кнопки «Assignments» в
JupyterLab — через HTTP своего сервера (fetch, submit, fetch_feedback) и API файлов
(сохранить ноутбук); преподаватель — в терминале: nbgrader collect, course grade,
nbgrader release_feedback. В конце все запущенные процессы остановлены.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
from badsubmissions import ASSIGNMENT, NOTEBOOK
from conftest import LAYOUT, ROOT
from readme import commands
from worldpython import world_venv

CLASSROOM = ROOT / "autograder" / "classroom"
COURSE = "concurrency-python"
TEACHER = "teacher"
# студент → что он сдаёт и сколько баллов ожидаем (fetch_all_test стоит 3 балла)
STUDENTS = {"alice": ("solved", 8.0), "bob": ("stub", 0.0), "carol": ("hangs", 5.0)}
BIN = Path(sys.executable).parent
CHP_DIR = ROOT / "build" / "chp"
CHP = CHP_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
CHP_PACKAGE = "configurable-http-proxy@5.3.0"  # прокси JupyterHub, закреплённая версия


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_proxy() -> Path:
    """configurable-http-proxy из реестра npm в build/chp (один раз; потом — из кэша)."""
    if CHP.exists():
        return CHP
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("нет npm: поставьте Node.js (npm), чтобы тест поставил configurable-http-proxy")
    done = subprocess.run(
        [npm, "install", "--prefix", str(CHP_DIR), "--no-audit", "--no-fund", CHP_PACKAGE],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0 and CHP.exists(), (
        f"npm install {CHP_PACKAGE}:\n{done.stderr[-2000:]}"
    )
    return CHP


class Hub:
    """Запущенный хаб: адрес, токен служебного сервиса теста, HTTP-помощники."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.url}/hub/api{path}", timeout=60, **kwargs)

    def user(self, method: str, name: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 120)
        return self.session.request(method, f"{self.url}/user/{name}{path}", **kwargs)

    def action(self, name: str, action: str) -> dict:
        """Кнопка в списке заданий студента: fetch / submit / fetch_feedback."""
        got = self.user(
            "POST", name, f"/assignments/{action}",
            params={"assignment_id": ASSIGNMENT, "course_id": COURSE},
        )
        assert got.status_code == 200, f"{name}: {action} → HTTP {got.status_code}: {got.text[:500]}"
        answer = got.json()
        assert answer["success"], f"{name}: {action} не удался: {answer['value']}"
        return answer

    def listing(self, name: str) -> list[dict]:
        got = self.user("GET", name, "/assignments", params={"course_id": COURSE})
        assert got.status_code == 200, f"{name}: список заданий → HTTP {got.status_code}"
        answer = got.json()
        assert answer["success"], f"{name}: список заданий: {answer['value']}"
        return answer["value"]


def hub_config(tmp: Path, ports: dict[str, int], token: str, classroom: Path = CLASSROOM) -> Path:
    """Конфигурация теста = конфигурация класса + адреса, пользователи и процессы для теста."""
    allow_root = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    text = f"""
c = get_config()  # noqa: F821
load_subconfig({str(classroom / "jupyterhub_config.py")!r})  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {ports["public"]}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {ports["hub"]}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "hub" / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{tmp / "hub" / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "hub" / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(tmp / "home" / "{username}")!r}
c.Spawner.args = {allow_root!r}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "classroom-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = c.JupyterHub.load_roles + [{{
    "name": "classroom-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:groups", "read:groups"],
    "services": ["classroom-test"],
}}]
"""
    path = tmp / "hub" / "jupyterhub_config.py"
    path.write_text(text, encoding="utf-8")
    return path


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: процесс завершился ({proc.returncode})\n{_tail(log)}")
        try:
            result = check()
        except requests.ConnectionError:
            result = None
        if result:
            return result
        time.sleep(0.3)
    pytest.fail(f"{what}: не дождались за {timeout:.0f} с\n{_tail(log)}")


def _tail(log: Path | None) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:] if log and log.exists() else ""


def solve(notebook: dict, how: str) -> dict:
    """Что студент впишет в выпущенный ноутбук: решения курса, ничего, или зависающий fetch_all."""
    if how == "stub":
        return notebook
    nb = nbformat.from_dict(notebook)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nbformat.read(LAYOUT.solutions / ASSIGNMENT / NOTEBOOK, as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            if how == "hangs" and grade_id == "fetch_all":
                cell.source = cell.source.replace(
                    "### BEGIN SOLUTION", "### BEGIN SOLUTION\n    while True:\n        pass"
                )
    return nb


def disabled_plugins(hub: Hub, name: str) -> set[str]:
    """Плагины JupyterLab, выключенные для пользователя (из page config страницы /lab)."""
    page = hub.user("GET", name, "/lab").text
    start = page.index('id="jupyter-config-data"')
    start = page.index(">", start) + 1
    data = json.loads(page[start:page.index("</script>", start)])
    disabled = data.get("disabledExtensions", [])
    return {k for k, v in disabled.items() if v} if isinstance(disabled, dict) else set(disabled)


def ours(tmp: Path) -> list[psutil.Process]:
    """Процессы, которые запустил тест: работают в его временной папке или упоминают её."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        if proc.pid == os.getpid():
            continue
        cwd = proc.info.get("cwd") or ""
        cmd = " ".join(proc.info.get("cmdline") or [])
        if cwd.startswith(str(tmp)) or str(tmp) in cmd:
            found.append(proc)
    return found


class SystemUsers:
    """Настоящие системные пользователи (только от root): преподаватель — в группе
    преподавателей, студент — нет. Имена случайные; в конце удаляются."""

    def __init__(self) -> None:
        tag = secrets.token_hex(3)
        self.group, self.teacher, self.student = f"ct{tag}g", f"ct{tag}t", f"ct{tag}s"
        self.created: list[str] = []

    def create(self) -> None:
        for name in (self.teacher, self.student):
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True, capture_output=True)
            self.created.append(name)

    def remove(self) -> None:
        for name in self.created:
            for proc in psutil.process_iter(["username"]):  # процессы только этих пользователей
                if proc.info["username"] == name:
                    try:
                        proc.kill()
                    except psutil.Error:
                        pass
            subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", self.group], capture_output=True)

    def run(self, user: str, *cmd: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", user, "--", *cmd], capture_output=True, text=True, **kwargs)


def lay_out_server(srv: Path, users: SystemUsers | None) -> tuple[Path, Path]:
    """Сервер класса по README («С нуля на одном сервере», шаги 2–4) в папке `srv`: исходники с
    ответами читает только группа преподавателей, конфигурация класса лежит отдельно и читается
    всеми. Строки README выполняются как написаны, с /srv/ и именами, заменёнными на тестовые
    (git clone — копированием); без root — только копирование и обмен."""
    source = srv / "concurrency-course"
    source.mkdir(parents=True)
    for name in ("solutions", "autograder"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("class", "__pycache__"))
    steps = [c.program for c in commands() if c.not_here == "сервер TLJH"
             and c.program.startswith(("groupadd", "chgrp", "cp -r", "mkdir -p"))]
    assert len(steps) == 4, f"шаги 2–4 README не найдены: {steps}"
    for step in steps:
        if users is None and step.startswith(("groupadd", "chgrp")):
            continue
        if users is not None:
            step = step.replace("jupyter-ivanova", users.teacher).replace("teachers", users.group)
        step = step.replace("/srv/", f"{srv}/")
        done = subprocess.run(["bash", "-c", step], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"README: {step}\n{done.stderr}"
    return source, srv / "classroom"


def teacher_bin(accounts: SystemUsers, where: Path) -> tuple[Path, bool]:
    """Папка bin с Python, который может запустить пользователь-преподаватель.

    Окружение теста может стоять на Python из закрытой папки (pyenv в /root, 0700) — на сервере
    класса среда пользователей открыта всем (/opt/tljh/user). Тогда преподавателю — venv из
    системного python3 той же версии, который видит пакеты окружения теста, и те же команды
    (второе значение — True). Оценивает он так же, но HTML отзыва на другой сборке Python
    nbconvert не рисует (soupsieve: SelectorSyntaxError на 3.11.2 с пакетами, собранными
    под 3.11.7) — тогда отзывы тест пишет заново от root.
    """
    if accounts.run(accounts.teacher, str(BIN / "python"), "-c", "pass", timeout=60).returncode == 0:
        return BIN, False
    tools = world_venv(where)
    if tools is None:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        pytest.skip(f"Python теста недоступен другим пользователям, а системного python{version} нет")
    return tools, True


@pytest.mark.slow
def test_wheel_has_no_answers(tmp_path: Path) -> None:
    """Студентам ставится колесо пакета (README, шаг 3): в нём нет solutions/ и скрытых тестов."""
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(next(tmp_path.glob("*.whl"))) as wheel:
        names = wheel.namelist()
        assert not [n for n in names if "solutions" in n or n.endswith(".ipynb")], names
        text = "\n".join(line.strip() for n in names
                         for line in wheel.read(n).decode("utf-8", "replace").splitlines())
    secrets_found = [block for block in hidden_lines() if block in text]
    assert not secrets_found, f"в колесе строки скрытых тестов или решений: {secrets_found[:5]}"


def hidden_lines() -> set[str]:
    """Скрытые тесты курса из solutions/: каждый блок BEGIN/END HIDDEN TESTS целиком (строки
    подряд, без отступов) — по отдельной строке не судим: `import asyncio` есть везде."""
    found: set[str] = set()
    for path in LAYOUT.solutions.rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            block: list[str] | None = None
            for line in cell.source.splitlines():
                mark = line.strip()
                if mark == "### BEGIN HIDDEN TESTS":
                    block = []
                elif mark == "### END HIDDEN TESTS" and block is not None:
                    if len(block) >= 2:
                        found.add("\n".join(block))
                    block = None
                elif block is not None and mark and not mark.startswith("#"):
                    block.append(mark)
    assert len(found) > 20, "скрытые тесты не найдены"
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("classroom")
def test_class_on_jupyterhub() -> None:
    # Своя папка в /tmp, проходимая всеми: tmp_path pytest лежит в папке 0700, куда системным
    # пользователям теста не попасть.
    tmp_path = Path(tempfile.mkdtemp(prefix="classroom-", dir="/tmp"))
    tmp_path.chmod(0o755)
    users = SystemUsers() if os.geteuid() == 0 else None
    try:
        if users is not None:
            users.create()
        run_class(tmp_path, users)
    finally:
        if users is not None:
            users.remove()
        shutil.rmtree(tmp_path, ignore_errors=True)
    if users is None:
        pytest.skip("не root: права не проверены (студент не читает solutions/, оценка от имени "
                    "обычного пользователя) — нужны useradd и runuser; остальное пройдено")


def run_class(tmp_path: Path, accounts: SystemUsers | None) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()

    def step(name: str) -> None:
        nonlocal started
        now = time.monotonic()
        timings[name] = round(now - started, 1)
        started = now

    chp = ensure_proxy()
    assert chp.exists()
    step("прокси из npm")
    for sub in ("hub", "home"):
        (tmp_path / sub).mkdir()
    (tmp_path / "home").chmod(0o755)
    source, classroom = lay_out_server(tmp_path / "srv", accounts)
    exchange = tmp_path / "srv" / "nbgrader" / "exchange"
    assert exchange.is_dir() and exchange.stat().st_mode & 0o777 == 0o777
    step("сервер по README")
    if accounts is not None:
        # Студент не читает ни ответов, ни скрытых тестов; преподаватель — читает.
        secret = source / "solutions" / ASSIGNMENT / NOTEBOOK
        for cmd in (["cat", str(secret)], ["ls", str(source / "solutions")], ["ls", str(source)]):
            denied = accounts.run(accounts.student, *cmd, timeout=30)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, (
                f"студент выполнил {cmd}: {denied.stdout[:200]}")
        allowed = accounts.run(accounts.teacher, "cat", str(secret), timeout=30)
        assert allowed.returncode == 0 and "BEGIN HIDDEN TESTS" in allowed.stdout, allowed.stderr
        for role in ("student", "common"):  # конфигурацию своей роли студент читает
            assert accounts.run(accounts.student, "cat", str(classroom / role / "nbgrader_config.py"),
                             timeout=30).returncode == 0
    ports = {"public": free_port(), "hub": free_port(), "proxy_api": free_port()}
    token = secrets.token_hex(32)
    config = hub_config(tmp_path, ports, token, classroom)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "CLASSROOM_TEACHERS": TEACHER,
        "CLASSROOM_STUDENTS": ",".join(STUDENTS),
        "CLASSROOM_EXCHANGE": str(exchange),
        "CLASSROOM_SOURCE": str(source),
    }
    env.pop("JUPYTER_CONFIG_PATH", None)
    log = tmp_path / "hub" / "jupyterhub.log"
    with log.open("w", encoding="utf-8") as out:
        hub_proc = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(config)], cwd=tmp_path / "hub", env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{ports['public']}", token)
    seen: set[int] = set()
    try:
        wait_for("хаб", lambda: hub.api("GET", "/").status_code == 200, 90, hub_proc, log)
        groups = {g["name"]: set(g["users"]) for g in hub.api("GET", "/groups").json()}
        assert groups[f"formgrade-{COURSE}"] == {TEACHER}
        assert groups[f"nbgrader-{COURSE}"] == set(STUDENTS)
        step("хаб запущен")

        users = [TEACHER, *STUDENTS]
        for name in users:
            got = hub.api("POST", f"/users/{name}/server")
            assert got.status_code in (201, 202), f"{name}: запуск сервера → {got.status_code} {got.text}"

        def ready(name: str) -> bool:
            model = hub.api("GET", f"/users/{name}").json()
            return bool(model.get("servers", {}).get("", {}).get("ready"))

        for name in users:
            wait_for(f"сервер {name}", lambda n=name: ready(n), 120, hub_proc, log)
        seen.update(p.pid for p in psutil.Process(hub_proc.pid).children(recursive=True))
        step("серверы пользователей запущены")

        # Роли: у студента нет formgrader (ни сервера, ни кнопки в JupyterLab), у преподавателя есть.
        for name in STUDENTS:
            assert hub.user("GET", name, "/formgrader", allow_redirects=False).status_code == 404
            hidden = disabled_plugins(hub, name)
            for plugin in ("formgrader", "create-assignment", "course-list"):
                assert f"@jupyter/nbgrader:{plugin}" in hidden, f"{name}: в JupyterLab виден {plugin}"
        assert hub.user("GET", TEACHER, "/formgrader", allow_redirects=False).status_code in (200, 302)
        assert "@jupyter/nbgrader:formgrader" not in disabled_plugins(hub, TEACHER)

        # Преподаватель (в терминале своего сервера): собрать и выпустить задание.
        teacher_home = tmp_path / "home" / TEACHER
        course_dir = teacher_home / "concurrency-python-course"
        teacher_env = {
            **env,
            "HOME": str(teacher_home),
            "USER": TEACHER,
            "JUPYTERHUB_USER": TEACHER,
            "JUPYTER_CONFIG_PATH": os.pathsep.join([str(classroom / "teacher"), str(classroom / "common")]),
        }
        foreign_python = False
        if accounts is not None:  # терминал преподавателя — от обычного пользователя из группы
            owner = f"{accounts.teacher}:{accounts.group}"
            subprocess.run(["chown", "-R", owner, str(teacher_home)], check=True)
            tools, foreign_python = teacher_bin(accounts, tmp_path)
            teacher_env["PATH"] = f"{tools}{os.pathsep}{teacher_env['PATH']}"
        lesson = [c.program for c in commands() if c.lead.startswith("**Занятие.**")]
        split = next(i for i, c in enumerate(lesson) if c.startswith("nbgrader release_assignment")) + 1

        def teacher(command: str, timeout: float = 300) -> str:
            """Строка README «Занятие» — как есть, в терминале преподавателя."""
            cmd = ["bash", "-c", command]
            if accounts is not None:
                cmd = ["runuser", "-m", "-u", accounts.teacher, "--", *cmd]  # -m: HOME и PATH терминала
            done = subprocess.run(cmd, cwd=teacher_home, env=teacher_env, capture_output=True, text=True,
                                  timeout=timeout)
            assert done.returncode == 0, (
                f"README: {command} → {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
            return done.stdout + done.stderr

        for command in lesson[:split]:  # generate_assignment, release_assignment — строки README
            teacher(command)
        step("преподаватель выпустил задание")

        # Студенты: видят задание, забирают, сохраняют свою версию, сдают.
        for name, (how, _) in STUDENTS.items():
            released = [a for a in hub.listing(name) if a["assignment_id"] == ASSIGNMENT]
            assert released and released[0]["status"] == "released", f"{name}: задание не видно: {released}"
            hub.action(name, "fetch")
            path = f"/api/contents/{COURSE}/{ASSIGNMENT}/{NOTEBOOK}"
            got = hub.user("GET", name, path)
            assert got.status_code == 200, f"{name}: нет ноутбука после fetch: {got.status_code}"
            notebook = solve(got.json()["content"], how)
            model = {"type": "notebook", "format": "json", "content": notebook}
            saved = hub.user("PUT", name, path, json=model)
            assert saved.status_code in (200, 201), f"{name}: сохранение → {saved.status_code}"
            if how in ("solved", "stub"):  # кнопка Validate на сервере студента — шагами курса
                relative = path.removeprefix("/api/contents/")
                got = hub.user("POST", name, "/assignments/validate", data={"path": relative}, timeout=300)
                answer = got.json()
                assert got.status_code == 200 and answer["success"], f"{name}: Validate → {got.text[:1500]}"
                failed = answer["value"].get("failed", [])
                assert set(answer["value"]) <= {"failed"}, f"{name}: Validate: {answer['value']}"
                shown = [f["source"][:80] for f in failed]
                assert bool(failed) == (how == "stub"), f"{name}: Validate: {shown}"
            hub.action(name, "submit")
        step("студенты забрали и сдали")

        # Преподаватель: собрать, оценить, вернуть отзывы.
        for command in lesson[split:]:  # collect, course grade, release_feedback — строки README
            teacher(command)
            step(" ".join(command.split()[:2]))
            if command.startswith("course grade") and accounts is not None and foreign_python:
                # см. teacher_bin: отзывы — заново, от root и на Python окружения теста
                subprocess.run([str(BIN / "nbgrader"), "generate_feedback", ASSIGNMENT, "--force"],
                               cwd=teacher_home, env=teacher_env | {"PATH": env["PATH"]}, check=True,
                               capture_output=True, timeout=300)
                owner = f"{accounts.teacher}:{accounts.group}"
                subprocess.run(["chown", "-R", owner, str(course_dir)], check=True)
            if command.startswith("nbgrader collect"):
                assert sorted(p.name for p in (course_dir / "submitted").iterdir()) == sorted(STUDENTS)
        if accounts is not None:  # всё, что написала оценка, — от имени преподавателя, не root
            owners = {p.owner() for p in course_dir.rglob("*")}
            assert owners == {accounts.teacher}, f"файлы курса принадлежат {owners}"
        rows = {
            r["student"]: r
            for r in csv.DictReader((course_dir / f"grades-{ASSIGNMENT}.csv").open(encoding="utf-8"))
        }
        assert {s: float(r["total"]) for s, r in rows.items()} == {s: v[1] for s, v in STUDENTS.items()}, (
            {s: (r["total"], r["reasons"][:800], r.get("isolation")) for s, r in rows.items()})
        carol = rows["carol"]
        assert float(carol["fetch_all_test"]) == 0 and float(carol["classify_workload_test"]) == 2
        # Зависание объяснено: лимитом ячейки в причинах или (лимит README — 30 с) собственным
        # сроком теста курса (15 с) в выводе ячейки — его студент читает в отзыве.
        letter = (course_dir / "feedback" / "carol" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html"))
        assert "не завершилась" in carol["reasons"] + letter.read_text(encoding="utf-8"), carol

        # Студенты забирают отзыв: у каждого ровно один — его собственный.
        feedback_pages = {}
        for name, (_, score) in STUDENTS.items():
            hub.action(name, "fetch_feedback")
            mine = [a for a in hub.listing(name) if a["status"] == "submitted"]
            assert mine and all(a["student_id"] == name for a in mine), f"{name}: чужие работы: {mine}"
            folder = tmp_path / "home" / name / COURSE / ASSIGNMENT / "feedback"
            pages = sorted(folder.rglob("*.html"))
            assert len(pages) == 1, f"{name}: ожидался один отзыв, есть {pages}"
            text = pages[0].read_text(encoding="utf-8")
            assert f"баллы: {score:.1f} из 8.0" in text, f"{name}: в отзыве не его балл {score}"
            feedback_pages[name] = text
        assert len(set(feedback_pages.values())) == len(STUDENTS), "отзывы студентов совпадают"
        step("студенты забрали отзывы")
        seen.update(p.pid for p in psutil.Process(hub_proc.pid).children(recursive=True))
    finally:
        for name in [TEACHER, *STUDENTS]:
            try:
                hub.api("DELETE", f"/users/{name}/server")
            except requests.RequestException:
                pass
        if hub_proc.poll() is None:
            hub_proc.send_signal(signal.SIGTERM)
        try:
            hub_proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hub_proc.pid, signal.SIGKILL)
            hub_proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            ours(tmp_path) or any(psutil.pid_exists(p) and _alive(p) for p in seen)
        ):
            time.sleep(0.5)
        leftovers = ours(tmp_path) + [psutil.Process(p) for p in seen if _alive(p)]
        for proc in leftovers:
            try:
                proc.kill()
            except psutil.Error:
                pass
        step("всё остановлено")
        print("время шагов, с:", json.dumps(timings, ensure_ascii=False))
    assert not leftovers, f"остались процессы: {[p.pid for p in leftovers]}\n{_tail(log)}"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
