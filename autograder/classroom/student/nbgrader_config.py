# nbgrader студента. Имя студента в обмене — имя пользователя хаба (а не системное:
# в TLJH это jupyter-<имя>, а при запуске всех от одного пользователя — одно на всех).
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader

if os.environ.get("JUPYTERHUB_USER"):
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
