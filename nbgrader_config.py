# nbgrader, запущенный из корня курса, — прежде всего кнопка Validate в JupyterLab: сервер
# `make lab` и Binder работают из этой папки, а Validate ищет nbgrader_config.py в папке
# сервера. Здесь — настройки оценки курса (autograder/nbgrader_config.py) и те же шаги, что у
# `course check`: вердикт Validate совпадает с самопроверкой (tests/test_validate.py).
from course.grading.check import VALIDATE_PREPROCESSORS

c = get_config()  # noqa: F821 — get_config подставляет nbgrader
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821 — тоже от nbgrader

c.Validator.preprocessors = VALIDATE_PREPROCESSORS
