"""Студент в настоящем браузере: JupyterLab курса глазами новичка (Chromium + Playwright).

Шаги, как у человека: `make lab` поднимает сервер, ссылка из его вывода открывает оглавление;
тема 01 — «Run All» с нерешёнными упражнениями доходит до конца, все рисунки на месте; студент
вставляет решение упражнения 1 и видит, что его тест прошёл; неверный (последовательный)
`fetch_all` — и видит под тестом рисунок своего прогона; кнопка Validate говорит то же,
что `course check`; инструментов преподавателя и панелей обмена nbgrader не видно.

Браузер — Chromium из системы (`apt-get install chromium`; `.ci/run` ставит его сам), пакет
`playwright` управляет им напрямую (`playwright install` здесь не скачивает браузер). Снимки
экрана шагов — в build/screenshots/ (артефакты теста).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from conftest import LAYOUT, ROOT
from corpus import t01_basics
from test_lab import free_port, status

from course.grading.check import check_notebook
from course.grading.release import RAISES_TAG

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "build" / "screenshots"
TOPIC = "01-basics"
EXERCISE = "classify_workload"  # упражнение 1 темы 01: решаем его в браузере

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="нет Chromium: apt-get install chromium (.ci/run ставит его сам)"
    ),
]


def start_make_lab(notebooks: Path, settings: Path) -> tuple[subprocess.Popen, str]:
    """`make lab` на свободном порту с папкой студента `notebooks`; вернуть процесс и адрес из
    вывода (с токеном, который сервер придумал сам, — как у студента)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    env.update(
        BROWSER="true",
        JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"),
    )
    log = open(settings / "lab.log", "w+b")  # noqa: SIM115 — закрывается вместе с сервером
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}", f"LAB_ROOT={notebooks}",
         "LAB_FLAGS=--no-browser"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 120
    pattern = re.compile(rf"http://127\.0\.0\.1:{port}/\S*\?token=(\w+)")
    while True:
        text = (settings / "lab.log").read_text(errors="replace")
        found = pattern.search(text)
        if found and status(f"http://127.0.0.1:{port}/api/status", found.group(1)) == 200:
            return proc, found.group(0)
        assert proc.poll() is None, f"make lab завершился:\n{text[-3000:]}"
        assert time.monotonic() < deadline, f"JupyterLab не поднялся за 120 с:\n{text[-3000:]}"
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def api(base: str, token: str, route: str):
    import urllib.request

    request = urllib.request.Request(f"{base}/api/{route}", headers={"Authorization": f"token {token}"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as r:
        return json.load(r)


def kernels_idle(base: str, token: str) -> bool:
    kernels = api(base, token, "kernels")
    return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)


def notebook_kernel_state(base: str, token: str, relative: str) -> str | None:
    """Состояние ядра сеанса тетради `relative` (по API сервера) или None, пока сеанса нет."""
    for session in api(base, token, "sessions"):
        if session.get("path") == relative and session.get("kernel"):
            return session["kernel"].get("execution_state")
    return None


def run_all(page, panel, base: str, token: str, relative: str) -> None:
    """«Run All Cells», когда ядро тетради готово, — и проверить, что выполнение началось.

    Нажатие до того, как вкладка узнала о своём ядре, JupyterLab встречает диалогом выбора
    ядра, а не выполнением; на медленной машине ядро поднимается дольше. Поэтому: ждём сеанс
    с ядром в «idle» (по API) и индикатор вкладки «idle» после подключения; если выполнение
    не началось за 30 с, закрываем диалог (принимаем ядро по умолчанию) и нажимаем ещё раз.
    В сообщении об ошибке — всё, что видно: диалоги, состояние ядер, хвост журнала сервера.
    """
    wait_until(lambda: notebook_kernel_state(base, token, relative) == "idle", 180, "ядро темы")
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator").first
    wait_until(lambda: indicator.get_attribute("data-status") == "idle", 60, "индикатор ядра")
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")

    def started() -> bool:
        return bool(re.search(r"\[(\*|\d+)\]", prompts.first.inner_text()))

    for attempt in range(3):
        panel.locator(".jp-Cell").first.click()
        run_menu(page, "Run", "Run All Cells")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not started():
            time.sleep(0.5)
        if started():
            return
        page.screenshot(path=SHOTS / f"run-all-attempt-{attempt + 1}.png")
        dialogs = page.locator(".jp-Dialog")
        if dialogs.count():
            accept = dialogs.first.locator(".jp-mod-accept")
            if accept.count():
                accept.first.click()
            else:
                page.keyboard.press("Enter")
            time.sleep(2)
            if started():
                return
    raise AssertionError(
        "Run All не начался за 3 попытки: диалоги "
        f"{page.locator('.jp-Dialog').all_inner_texts()!r}, ядра {api(base, token, 'kernels')!r}, "
        f"индикатор {indicator.get_attribute('data-status')!r}"
    )


def wait_until(condition, timeout: float, what: str, poll: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"не дождались за {timeout:g} с: {what}"
        time.sleep(poll)


def run_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).first.click()


def run_cell(page, cell) -> None:
    """Выделить ячейку, Shift+Enter и дождаться нового номера выполнения в её подсказке."""
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    def done() -> bool:
        text = prompt.inner_text().strip()
        return bool(re.fullmatch(r"\[\d+\]:", text)) and text != before.strip()

    wait_until(done, 120, f"выполнение ячейки ({before})", poll=0.5)


def reference_solution(name: str) -> str:
    """Исходник решения из solutions/ без маркеров nbgrader: то, что «вставит» студент."""
    nb = nbformat.read(LAYOUT.solutions / TOPIC / f"{TOPIC}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)
    return "\n".join(line for line in cell.source.splitlines() if "### " not in line)


# Неверный ответ из корпуса: верные тексты, по запросу на адрес, но по очереди — тест падает
# с рисунком «запросы шли по очереди».
SEQUENTIAL_FETCH_ALL = next(v.source for v in t01_basics.VARIANTS if v.name == "sequential_with_cache")


def cell_by_grade_id(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_student_in_jupyterlab(tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    notebooks = tmp_path / "notebooks"
    shutil.copytree(LAYOUT.notebooks, notebooks)
    settings = tmp_path / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')  # все ячейки в DOM: их видно и на снимке
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # без всплывающего вопроса о новостях Jupyter
    path = notebooks / TOPIC / f"{TOPIC}.ipynb"
    proc, url = start_make_lab(notebooks, settings)
    base, token = url.split("/lab")[0], url.split("token=")[1]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run",
                      "--disable-dev-shm-usage"],
            )
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(60_000)
            try:
                student_session(page, url, base, token, path)
            except Exception:
                page.screenshot(path=SHOTS / "failure.png")
                raise
            finally:
                browser.close()
    finally:
        stop(proc)


def student_session(page, url: str, base: str, token: str, path: Path) -> None:
    """Шаги студента; снимки — в SHOTS."""

    # 1. Ссылка из вывода make lab открывает оглавление; файлы — только notebooks/.
    assert url.startswith(f"{base}/lab/tree/index.ipynb?"), url
    page.goto(url)
    page.locator(".jp-NotebookPanel .jp-MarkdownOutput", has_text="Карта курса").first.wait_for()
    listing = page.locator(".jp-DirListing-itemText").all_inner_texts()
    assert TOPIC in listing and "index.ipynb" in listing, listing
    assert not {"solutions", "tests", "autograder"} & set(listing), listing
    page.screenshot(path=SHOTS / "1-index.png")

    # 2. Инструментов преподавателя и панелей обмена нет: ни меню, ни адресов.
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus, menus
    for route in ("/formgrader", "/courses", "/assignments"):
        assert status(base + route, token) == 404, route

    # 3. Тема 01 — из файлового браузера, как студент; Run All с нерешёнными упражнениями.
    page.locator(".jp-DirListing-item", has_text=TOPIC).first.dblclick()
    page.locator(".jp-DirListing-item", has_text=f"{TOPIC}.ipynb").first.dblclick()
    page.locator("h1", has_text="01 — Основы").first.wait_for()
    panel = page.locator(".jp-NotebookPanel:visible")  # скрытая вкладка оглавления — не в счёт
    run_all(page, panel, base, token, f"{TOPIC}/{TOPIC}.ipynb")
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
    wait_until(lambda: kernels_idle(base, token) and "[*]" not in "".join(prompts.all_inner_texts())
               and "[ ]" not in "".join(prompts.all_inner_texts()), 240, "Run All")
    page.keyboard.press("Control+s")
    time.sleep(2)
    ran = nbformat.read(path, as_version=4)
    code = [(i + 1, c) for i, c in enumerate(ran.cells) if c.cell_type == "code"]
    assert all(c.execution_count for _, c in code), "Run All выполнил не все ячейки"
    failed_lecture = [i for i, c in code if RAISES_TAG not in c.metadata.get("tags", [])
                      and any(o.output_type == "error" for o in c.outputs)]
    assert not failed_lecture, f"упали ячейки лекции: {failed_lecture}"
    figures = sum("image/png" in o.get("data", {}) for _, c in code for o in c.outputs)
    assert figures >= 2, f"рисунков {figures}, ожидалось 2"
    assert panel.locator(".jp-OutputArea-output img").count() >= 2
    panel.locator(".jp-OutputArea-output img").last.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "2-run-all-figure.png")
    unsolved = panel.locator(".jp-OutputArea-output", has_text="упражнение ещё не решено")
    assert unsolved.count() >= 3
    unsolved.first.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "3-run-all-unsolved.png")

    # 4. Студент вставляет решение упражнения 1 и выполняет его, самопроверку и тест.
    solution = panel.locator(".jp-CodeCell", has_text=f"def {EXERCISE}(").first
    solution.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(reference_solution(EXERCISE))
    page.keyboard.press("Escape")
    cells = panel.locator(".jp-CodeCell")
    code_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in ran.cells if c.cell_type == "code"]
    first, test = code_ids.index(EXERCISE), code_ids.index(f"{EXERCISE}_test")
    for index in range(first, test + 1):  # решение, «Проверьте себя», тест — как студент, по очереди
        run_cell(page, cells.nth(index))
    page.keyboard.press("Control+s")
    time.sleep(2)
    solved = nbformat.read(path, as_version=4)
    test_cell = cell_by_grade_id(solved, f"{EXERCISE}_test")
    assert test_cell.execution_count and not [o for o in test_cell.outputs if o.output_type == "error"], (
        test_cell.outputs
    )
    cells.nth(test).scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "4-exercise-solved.png")

    # 5. Неверный ответ: fetch_all качает по очереди — под тестом рисунок его собственного прогона.
    wrong = panel.locator(".jp-CodeCell", has_text="def fetch_all(").first
    wrong.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(SEQUENTIAL_FETCH_ALL)
    page.keyboard.press("Escape")
    first, test = code_ids.index("fetch_all"), code_ids.index("fetch_all_test")
    for index in range(first, test + 1):
        run_cell(page, cells.nth(index))
    test_cell = cells.nth(test)
    picture = test_cell.locator(".jp-OutputArea-output img")
    wait_until(lambda: picture.count() >= 1, 30, "рисунок под упавшим тестом")
    assert "по очереди" in test_cell.locator(".jp-OutputArea").inner_text()
    box = picture.first.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150, box  # картинка, а не значок
    picture.first.scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "5-failure-picture.png")
    page.keyboard.press("Control+s")
    time.sleep(2)
    solved = nbformat.read(path, as_version=4)

    # 6. Validate — тот же вердикт, что course check.
    panel.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog", has_text="Validat")
    dialog.locator("#validation-message, .jp-Dialog-body").first.wait_for(timeout=180_000)
    wait_until(lambda: "Validating" not in panel.locator(".validate-button").first.inner_text(), 180,
               "Validate")
    page.screenshot(path=SHOTS / "6-validate.png")
    shown = "\n".join(page.locator("#validation-message pre").all_inner_texts())
    by_validate = {
        c.metadata.nbgrader["grade_id"] for c in solved.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.source.strip().splitlines()[0] in shown
    }
    by_check = {v.grade_id for v in check_notebook(path) if v.earned != v.points}
    assert by_validate == by_check, f"Validate: {sorted(by_validate)}, course check: {sorted(by_check)}"
    assert f"{EXERCISE}_test" not in by_check and by_check, by_check
