# Настройки nbgrader для курса «Конкурентность в Python».
# Его подключает nbgrader_config.py в корне репозитория: стоковые команды nbgrader и
# `course grade` запускайте из корня репозитория без флагов (nbgrader autograde 01-basics).
# `course release` читает этот же файл (и подменяет только каталоги — для сборки во временной папке).
import importlib.util
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASS_DIR = os.path.join("autograder", "class")  # работы класса: вне git (.gitignore)

c.CourseDirectory.course_id = "concurrency-python"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"      # источник: решения + скрытые тесты
c.CourseDirectory.release_directory = "notebooks"     # что открывает студент
c.CourseDirectory.submitted_directory = os.path.join(CLASS_DIR, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(CLASS_DIR, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(CLASS_DIR, "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, CLASS_DIR, "gradebook.db")

# Работы из LMS: архив «Скачать все ответы» → autograder/class/downloaded/<задание>/archive/,
# затем `nbgrader zip_collect <задание>`. Имена файлов — как в выгрузке Moodle
# («Имя Фамилия_12345_assignsubmission_file_01-basics.ipynb»); студент — номер участника.
# Для Canvas — другое выражение (см. src/course/grading/lms.py и README, «Работы из LMS»).
c.ZipCollectApp.downloaded_directory = os.path.join(CLASS_DIR, "downloaded")
c.FileNameCollectorPlugin.named_regexp = (
    r".*_(?P<student_id>\d+)_assignsubmission_file[_/](?P<file_id>[^/]+)$"
)

# Заготовка вместо решения — по-русски; ячейка падает, пока студент её не заполнит.
c.ClearSolutions.code_stub = {
    "python": '# ВАШ КОД ЗДЕСЬ\nraise NotImplementedError("упражнение ещё не решено")'
}
c.ClearSolutions.text_stub = "ВАШ ОТВЕТ ЗДЕСЬ"

# Время на ячейку: упражнения курса укладываются в секунды; зависание — не дольше 30 с.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# Отзыв — по-русски: свой шаблон (src/course/grading/templates/feedback_ru) вместо английского
# шаблона nbgrader; его берут и `nbgrader generate_feedback`, и `course grade`.
c.HTMLExporter.template_name = "feedback_ru"
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(importlib.util.find_spec("course.grading").origin), "templates"),
    # и шаблоны nbgrader: кнопка отзыва в formgrader (API nbgrader) просит свой шаблон 'feedback'
    os.path.join(os.path.dirname(importlib.util.find_spec("nbgrader").origin),
                 "server_extensions", "formgrader", "templates"),
]

# Скрытые тесты не показываем в отзыве студенту.
# SanitizeFeedback — первым, пока скрытые тесты ещё в ноутбуке: вычёркивает их строки и из
# вывода (traceback упавшего скрытого теста), убирает пути учителя, держит отзыв ≤ 2 МБ.
c.GenerateFeedback.preprocessors = [
    "course.grading.feedback.SanitizeFeedback",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]

# Проверка, которая переживает плохой код (см. src/course/grading/executor.py): лимиты на ячейку,
# память и процессы, перезапуск ядра с пропуском «убийственной» ячейки, stderr не обнуляет
# прошедший тест, вывод режется по байтам.
c.Autograde.autograde_preprocessors = [
    "course.executor.RobustExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "course.executor.LimitOutputBytes",
    "course.executor.StderrNotFatal",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.RobustExecute.notebook_timeout = 300
c.RobustExecute.memory_limit_mb = 2048
c.RobustExecute.max_processes = 64
# Ядро — в песочнице (bubblewrap; без него — лучшее доступное), плюс канарейки и зонд подмены:
# src/course/grading/sandbox.py и integrity.py. `course grade` включает это всегда.
c.RobustExecute.sandbox = True
# Удалённые студентом оцениваемые ячейки возвращаются из исходника.
c.OverwriteCells.add_missing_cells = True
