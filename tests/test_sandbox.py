"""Запечатанная проверка (issue 15): песочница ядра, вердикты, которые ядро не подделает,
отзыв без скрытых тестов — на корпусе атак tests/attacks.py.

Для каждой атаки: ни одного незаработанного балла, пометка «требует ручной проверки» там,
где подмена обнаружима (в CSV, итоге и базе оценок), ничего вне песочницы не изменилось
(хеш папки курса до и после, кроме ожидаемых результатов), ни один процесс не пережил
проверку, соседние работы не тронуты.
"""

from __future__ import annotations

import csv
import hashlib
import html
import importlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

import nbformat
import psutil
import pytest
from attacks import ATTACKS, HIDDEN_MESSAGE, INPUT_TRANSFORMER, MARKER, make_attack
from badsubmissions import ASSIGNMENT, NOTEBOOK, _edit_solution, make_submission
from conftest import LAYOUT, ROOT, SOURCE_NOTEBOOKS, rel
from test_grading import stock_export
from worldpython import world_venv

from course.grading import integrity
from course.grading.feedback import REDACTED, hidden_lines, scrub_text, teacher_paths
from course.grading.grade import grade_class, summary
from course.grading.sandbox import NAMESPACES, available_level

OUTPUTS = {"autograded", "feedback", "gradebook.db", f"grades-{ASSIGNMENT}.csv",
           f".course-grade-state-{ASSIGNMENT}.json", "stock.csv"}
VICTIMS = {"victim_good": 8.0, "victim_stub": 0.0}
namespaces_only = pytest.mark.skipif(available_level() != NAMESPACES, reason="нет bubblewrap/userns")


def files_digest(root: Path, skip: set[str] = frozenset()) -> dict[str, str]:
    """Хеш каждого файла под root, кроме верхних имён из skip."""
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or not path.is_file() or "__pycache__" in relative.parts:
            continue
        out[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def survivors() -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]


def eventually(check, seconds: float = 10.0) -> bool:
    """Дождаться, пока `check()` станет истинным (не дольше `seconds`): под нагрузкой exec
    потомка или его уборка заканчиваются не сразу после ответа ядра."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def attacked_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("sealed")
    for name in ATTACKS:
        make_attack(root, name, LAYOUT.solutions, LAYOUT.notebooks)
    make_submission(root, "victim_good", LAYOUT.solutions, LAYOUT.notebooks, damage=None)
    make_submission(root, "victim_stub", LAYOUT.solutions, LAYOUT.notebooks, damage=None, solved=False)
    course_before = files_digest(root, OUTPUTS)
    repo_before = {d: files_digest(ROOT / d) for d in ("solutions", "notebooks", "autograder")}
    results = grade_class(LAYOUT, ASSIGNMENT, jobs=2, course_dir=root, cell_timeout=10, progress=False)
    alive = survivors()
    for pid in alive:  # не оставлять их и при провале теста
        psutil.Process(pid).kill()
    return root, {r.student: r for r in results}, course_before, repo_before, alive


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_no_attack_earns_a_point_and_tampering_is_flagged(attacked_class) -> None:
    _, results, _, _, _ = attacked_class
    wrong = []
    for name, (_, _, expected, flagged, reason) in ATTACKS.items():
        got = results[name]
        if got.scores != expected:
            wrong.append(f"{name}: ожидалось {expected}, получено {got.scores} ({got.reasons})")
        if bool(got.flagged) != flagged:
            wrong.append(f"{name}: пометка {got.flagged!r}, ожидалась {flagged}")
        if reason and not any(reason in r for r in got.reasons):
            wrong.append(f"{name}: нет причины «{reason}» в {got.reasons}")
        if got.status != "graded":
            wrong.append(f"{name}: статус {got.status}: {got.reasons}")
    for victim, total in VICTIMS.items():
        if results[victim].total != total or results[victim].flagged:
            wrong.append(f"{victim}: {results[victim]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_flags_and_isolation_reach_csv_summary_and_gradebook(attacked_class) -> None:
    from nbgrader.api import Gradebook

    root, results, _, _, _ = attacked_class
    with (root / f"grades-{ASSIGNMENT}.csv").open(encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    level = available_level()
    for student, result in results.items():
        assert rows[student]["manual_review"] == ("да" if result.flagged else ""), student
        assert rows[student]["isolation"] == level, student
    text = summary(list(results.values()))
    assert "изоляция работ:" in text and "требует ручной проверки" in text
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, result in results.items():
            submission = gb.find_submission(ASSIGNMENT, student)
            manual = {g.name for nb in submission.notebooks for g in nb.grades if g.needs_manual_grade}
            assert manual == set(result.flagged), student
            assert all(g.manual_score is None for nb in submission.notebooks for g in nb.grades), student
    exported = stock_export(root)  # база = CSV: атака на базу не изменила ни одного балла
    assert exported == {s: float(r["total"]) for s, r in rows.items()}


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_nothing_outside_the_sandbox_changed_and_no_process_survived(attacked_class) -> None:
    root, _, course_before, repo_before, alive = attacked_class
    assert not alive, f"процессы работ пережили проверку: {alive}"
    assert files_digest(root, OUTPUTS) == course_before, "код работ изменил папку курса"
    for folder, before in repo_before.items():
        assert files_digest(ROOT / folder) == before, f"код работ изменил {folder}/"
    strays = [p for folder in ("autograded", "feedback") for p in (root / folder).rglob("*")
              if p.name in ("big.bin", "planted.html")]
    assert not strays, strays
    for student in ATTACKS:  # в отзыв попадает только HTML, без файлов, записанных кодом работы
        letters = sorted(p.name for p in (root / "feedback" / student / ASSIGNMENT).iterdir())
        assert letters == ["01-basics.html"], student


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_feedback_shows_only_what_the_student_may_see(attacked_class) -> None:
    root, _, _, _, _ = attacked_class
    source = nbformat.read(LAYOUT.solutions / ASSIGNMENT / NOTEBOOK, as_version=4)
    released = (LAYOUT.notebooks / ASSIGNMENT / NOTEBOOK).read_text(encoding="utf-8")
    secret = [line for line in hidden_lines(source) if line not in released]
    assert secret
    forbidden = [str(ROOT), str(root), sys.prefix, sys.base_prefix]
    for page in sorted((root / "feedback").rglob("*.html")):
        raw = page.read_text(encoding="utf-8")
        assert len(raw.encode()) <= 2_000_000, f"{page}: {len(raw.encode())} байт"
        text = html.unescape(re.sub(r"<[^>]+>", "", raw))
        leaked = [line for line in secret if line in text]
        assert not leaked, f"{page.parent.parent.name}: скрытые тесты в отзыве: {leaked[:3]}"
        paths = [p for p in forbidden if p in text]
        assert not paths, f"{page.parent.parent.name}: пути учителя в отзыве: {paths}"
    # Упавший скрытый тест: его строка в traceback вычеркнута, а сообщение проверки — осталось.
    failed = html.unescape((root / "feedback" / "fails_hidden" / ASSIGNMENT / "01-basics.html").read_text(
        encoding="utf-8"))
    assert REDACTED in failed and HIDDEN_MESSAGE in failed


def test_static_scan_flags_nothing_in_reference_solutions_and_corpus() -> None:
    """Ни эталонные решения, ни ответы корпуса (верные и неверные, tests/corpus) не похожи на подмену."""
    flagged = {rel(p): integrity.scan_notebook(nbformat.read(p, as_version=4)) for p in SOURCE_NOTEBOOKS}
    assert not {k: v for k, v in flagged.items() if v}
    files = sorted((ROOT / "tests" / "corpus").glob("t[0-9]*.py"))
    corpus = [importlib.import_module(f"corpus.{p.stem}") for p in files]
    variants = [v for module in corpus for v in module.VARIANTS if isinstance(v.source, str)]
    assert variants and not [v.label for v in variants if integrity.scan_source(v.source)]
    assert "input_transformers_post" in integrity.scan_source(INPUT_TRANSFORMER)
    assert integrity.scan_source("import course.checks\ncourse.checks.expect = print")
    assert integrity.scan_source("%time x = get_ipython().events.register('pre_run_cell', print)")
    # Чтение кадров — только внутри функций (её может вызвать скрытый тест); лекция 05 смотрит в
    # кадр генератора на верхнем уровне ячейки, и это не помечается.
    frame = "import sys\ndef f():\n    return sys._getframe(1).f_code"
    assert integrity.scan_source(frame) == ["_getframe", "f_code"]
    assert integrity.scan_source("import inspect\ng = lambda: inspect.stack()") == ["inspect.stack"]
    assert not integrity.scan_source("print(gen.gi_frame.f_lineno, gen.gi_frame.f_locals)")
    # История ввода: ячейка теста попадает в In до того, как выполнится.
    assert integrity.scan_source("def f():\n    return In[-1]") == ["In"]
    assert not integrity.scan_source("In[-1]")
    stack = "from traceback import format_stack\ndef f():\n    return format_stack()"
    assert integrity.scan_source(stack) == ["format_stack"]


def test_scrub_removes_hidden_lines_and_teacher_paths() -> None:
    paths = teacher_paths([str(ROOT)])
    line = 'expect_equal(got, ["c", "c", "a"], "порядок ответов при повторах подряд и вразбивку")'
    text = f"  File {ROOT}/src/course/checks.py:31\n---> 5 {line}\nExerciseFailure: ..."
    clean = scrub_text(text, [line], paths)
    assert str(ROOT) not in clean and line not in clean and REDACTED in clean


@namespaces_only
def test_kernel_sees_only_its_sandbox(tmp_path) -> None:
    """Ядро в песочнице: нет папки курса, своя петля, свой pid 1, tmpfs с пределом, потомки
    (даже ушедшие в setsid) умирают вместе с ядром."""
    from jupyter_core.utils import run_sync

    from course.grading.sandbox import SandboxedKernelManager

    (tmp_path / "gradebook.db").write_text("секрет", encoding="utf-8")
    host = socket.socket()
    host.bind(("127.0.0.1", 0))
    host.listen()
    port = host.getsockname()[1]
    threading.Thread(target=lambda: host.accept(), daemon=True).start()
    printed: list[dict] = []
    km = SandboxedKernelManager(kernel_name="python3")
    run_sync(km.start_kernel)()
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        code = f"""
import os, socket, subprocess, sys
seen = {{}}
seen['course'] = os.path.exists({str(tmp_path / 'gradebook.db')!r})
seen['solutions'] = os.path.exists({str(ROOT / 'solutions')!r})
seen['pid'] = os.getpid() < 10
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2); seen['host_port'] = True
except OSError:
    seen['host_port'] = False
server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()
seen['loopback'] = socket.create_connection(server.getsockname(), timeout=2) is not None
try:
    with open('big.bin', 'wb') as f:
        for _ in range(40):
            f.write(b'x' * 2**23)
    seen['disk_limited'] = False
except OSError:
    seen['disk_limited'] = True
os.remove('big.bin')
subprocess.Popen([sys.executable, '-c', 'import os, time; os.setsid(); time.sleep(300)', '{MARKER}'])
print(sorted(k for k, v in seen.items() if v))
"""
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: printed.append(m))
        assert reply["content"]["status"] == "ok", reply["content"]
        text = "".join(m["content"].get("text", "") for m in printed if m["msg_type"] == "stream")
        assert text.strip() == str(sorted(["disk_limited", "loopback", "pid"])), text
        assert eventually(survivors), "процесс-потомок не запустился"
    finally:
        kc.stop_channels()
        run_sync(km.shutdown_kernel)(now=True)
        host.close()
    assert eventually(lambda: not survivors()), "потомок ядра пережил песочницу"
    assert not os.path.exists(km.sandbox.root)



@pytest.mark.slow
def test_without_namespaces_grading_still_works_and_says_so(tmp_path, monkeypatch) -> None:
    """Учитель без userns (AppArmor Ubuntu, под хабом): слабее, но оценивает и говорит об этом."""
    monkeypatch.setenv("COURSE_SANDBOX", "dir")
    make_submission(tmp_path, "good", LAYOUT.solutions, LAYOUT.notebooks)
    [result] = grade_class(LAYOUT, ASSIGNMENT, jobs=1, course_dir=tmp_path, progress=False)
    assert (result.total, result.isolation, result.flagged) == (8, "dir", {}), result
    assert "слабая" in summary([result])


@pytest.mark.skipif(os.geteuid() != 0, reason="от имени nobody проверяет только root")
def test_user_level_names_what_the_kernel_user_can_read() -> None:
    """Уровень `user`: от базы оценок и чужих работ ядро отделяют только права — итог и CSV
    называют то, что `nobody` может прочитать, и советуют закрыть папку курса."""
    from course.grading.sandbox import open_to_kernel, readable_by_kernel_user

    course = Path(tempfile.mkdtemp(prefix="course-open-", dir="/tmp"))
    try:
        course.chmod(0o755)
        gradebook, source = course / "gradebook.db", course / "source"
        gradebook.write_text("база", encoding="utf-8")
        gradebook.chmod(0o644)
        source.mkdir(mode=0o700)
        assert readable_by_kernel_user([gradebook, source]) == [gradebook]
        level = open_to_kernel("user", [gradebook, source])
        assert level == "user (ядро читает: gradebook.db)"
        assert open_to_kernel("namespaces", [gradebook]) == "namespaces"  # там этих файлов не видно
        warning = [line for line in integrity.seal_summary([types.SimpleNamespace(isolation=level)])
                   if line.startswith("ВНИМАНИЕ")]
        assert warning and "gradebook.db" in warning[0] and "chmod o-rwx" in warning[0]
        course.chmod(0o700)  # папка курса закрыта: через неё не пройти
        assert readable_by_kernel_user([gradebook, source]) == []
        assert open_to_kernel("user", [gradebook, source]) == "user"
    finally:
        shutil.rmtree(course, ignore_errors=True)


UID_PROBE = "\nprint('kernel-uid', __import__('os').getuid())"


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="уровень user бывает только у проверки от root")
def test_user_level_grades_as_nobody_and_says_what_is_open() -> None:
    """Уровень `user` (root без userns) целиком: ядро работы — от `nobody` в личной папке, балл
    тот же, а итог и CSV называют файлы курса, которые `nobody` может прочитать."""
    where = Path(tempfile.mkdtemp(prefix="course-user-level-", dir="/tmp"))
    try:
        where.chmod(0o755)
        tools = world_venv(where)
        if tools is None:
            pytest.skip("нет системного Python той же версии для nobody")
        python = str(tools / "python")
        probe = subprocess.run([python, "-c", "import course, ipykernel"], capture_output=True, timeout=120,
                               user="nobody", group="nogroup" if _group("nogroup") else "nobody", cwd="/")
        if probe.returncode != 0:
            pytest.skip(f"nobody не запускает Python окружения: {probe.stderr.decode()[-300:]}")
        course = where / "course"
        probe_uid = _edit_solution(lambda source: source + UID_PROBE, grade_id="classify_workload")
        make_submission(course, "good", LAYOUT.solutions, LAYOUT.notebooks, damage=probe_uid)
        course.chmod(0o755)
        script = (
            "import json, sys\n"
            "from pathlib import Path\n"
            "from course.grading.grade import grade_class, summary\n"
            "from course.grading.release import CourseLayout\n"
            f"[r] = grade_class(CourseLayout(Path({str(ROOT)!r})), {ASSIGNMENT!r}, jobs=1,"
            f" course_dir=Path({str(course)!r}), progress=False)\n"
            "print('RESULT ' + json.dumps({'total': r.total, 'isolation': r.isolation, 'flagged': r.flagged,"
            " 'summary': summary([r])}, ensure_ascii=False))\n"
        )
        env = {**os.environ, "COURSE_SANDBOX": "user", "PATH": f"{tools}:{os.environ['PATH']}"}
        done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=600, env=env)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        assert line, f"{done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        result = json.loads(line.removeprefix("RESULT "))
        assert result["total"] == 8 and not result["flagged"], result
        assert result["isolation"].startswith("user (ядро читает:") and "gradebook.db" in result["isolation"]
        assert "chmod o-rwx" in result["summary"] and "частичная" in result["summary"], result["summary"]
        graded = nbformat.read(course / "autograded" / "good" / ASSIGNMENT / NOTEBOOK, as_version=4)
        printed = "".join(o.get("text", "") for c in graded.cells for o in c.get("outputs", []))
        assert f"kernel-uid {pwd.getpwnam('nobody').pw_uid}" in printed, printed[-500:]
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True
