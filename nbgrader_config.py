# Папка курса nbgrader — корень репозитория: стоковые команды nbgrader, `course grade` и кнопка
# Validate в JupyterLab (сервер `make lab` и Binder работают из этой папки) читают этот файл.
# Настройки курса — в autograder/nbgrader_config.py; Validate выполняет те же шаги, что
# `course check`, поэтому их вердикты совпадают (tests/test_validate.py).
import os

from course.grading.check import VALIDATE_PREPROCESSORS

c = get_config()  # noqa: F821 — get_config подставляет nbgrader
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "autograder", "nbgrader_config.py"))  # noqa: F821

c.Validator.preprocessors = VALIDATE_PREPROCESSORS
