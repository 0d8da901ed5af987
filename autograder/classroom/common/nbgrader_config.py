# nbgrader для всех пользователей хаба: обмен, курс, права по группам JupyterHub.
# Папку подключает jupyterhub_config.py через JUPYTER_CONFIG_PATH.
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader

c.CourseDirectory.course_id = "concurrency-python"
c.Exchange.root = os.environ.get("CLASSROOM_EXCHANGE", "/srv/nbgrader/exchange")
# Папки обмена вида <root>/<курс>/…: на одном хабе может жить несколько курсов.
c.Exchange.path_includes_course = True
# Кто в каком курсе — по группам хаба formgrade-<курс> / nbgrader-<курс>.
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
# Кнопка Validate — теми же шагами, что `course check` (исполнитель курса: лимиты, пропуск
# демонстраций; stderr не обнуляет тест), как у `make lab` и в Binder. Пакет курса стоит в
# среде хаба; без него Validate остаётся стоковым.
try:
    from course.grading.check import VALIDATE_PREPROCESSORS
except ImportError:
    pass
else:
    c.Validator.preprocessors = VALIDATE_PREPROCESSORS
