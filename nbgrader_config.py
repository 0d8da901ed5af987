# Папка курса nbgrader — корень репозитория: стоковые команды nbgrader и `course grade`
# запускаются отсюда без флагов (nbgrader читает nbgrader_config.py текущей папки).
# Все настройки курса — в autograder/nbgrader_config.py.
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "autograder", "nbgrader_config.py"))  # noqa: F821
