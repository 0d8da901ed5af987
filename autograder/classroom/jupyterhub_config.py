# JupyterHub для одного класса курса «Конкурентность в Python» (nbgrader + обмен заданиями).
#
# Запуск на сервере (голый JupyterHub; в The Littlest JupyterHub — ссылкой из
# /opt/tljh/config/jupyterhub_config.d/, в Zero to JupyterHub — через hub.extraConfig):
#   jupyterhub -f autograder/classroom/jupyterhub_config.py
# Кто преподаватель и кто студент — переменные окружения хаба (или правьте списки ниже):
#   CLASSROOM_TEACHERS="ivanova"  CLASSROOM_STUDENTS="petrov,sidorova,..."
# Обмен nbgrader (куда преподаватель выпускает задания и откуда забирает работы):
#   CLASSROOM_EXCHANGE=/srv/nbgrader/exchange   (папка должна быть доступна всем на запись)
# Исходники курса с ответами (читает только группа преподавателей; студентам — не передаются):
#   CLASSROOM_SOURCE=/srv/concurrency-course
# Подробно — раздел «Класс на JupyterHub» в README.md.
import os

c = get_config()  # noqa: F821 — get_config подставляет JupyterHub

HERE = os.path.dirname(os.path.realpath(__file__))  # realpath: файл можно подключить ссылкой
# Где эту папку видят серверы пользователей (на одном сервере — здесь же; в Kubernetes — путь
# внутри образа пользователя).
USER_CONFIG_DIR = os.environ.get("CLASSROOM_CONFIG_DIR", HERE)
COURSE = "concurrency-python"  # тот же course_id, что в autograder/nbgrader_config.py


def _names(variable: str, default: str) -> list[str]:
    return [n.strip() for n in os.environ.get(variable, default).split(",") if n.strip()]


TEACHERS = _names("CLASSROOM_TEACHERS", "teacher")
STUDENTS = _names("CLASSROOM_STUDENTS", "")
EXCHANGE = os.environ.get("CLASSROOM_EXCHANGE", "/srv/nbgrader/exchange")
# Исходники курса с ответами (solutions/): их получает только окружение преподавателя.
SOURCE = os.environ.get("CLASSROOM_SOURCE", "")

# Роли nbgrader — это группы хаба: formgrade-<курс> — преподаватели, nbgrader-<курс> — студенты.
# JupyterHubAuthPlugin (см. common/nbgrader_config.py) по ним решает, кому какой курс виден.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": TEACHERS},
    f"nbgrader-{COURSE}": {"users": STUDENTS},
}
c.Authenticator.allowed_users = set(TEACHERS + STUDENTS)
# Преподавателю не нужен полный админ хаба: достаточно видеть пользователей и группы курса
# (formgrader показывает студентов) и добавлять студентов в группу курса.
TEACHER_SCOPES = [
    "list:users", "read:users:name", "read:users:groups",
    "list:groups", "read:groups", f"groups!group=nbgrader-{COURSE}",
]
c.JupyterHub.load_roles = [
    {
        "name": f"teacher-{COURSE}",
        "description": "Преподаватель курса: видит студентов, ведёт группу курса",
        "scopes": TEACHER_SCOPES,
        "groups": [f"formgrade-{COURSE}"],
    }
]

# Токен сервера пользователя должен читать собственные группы пользователя: по ним
# плагин nbgrader находит курсы (без этого «Assignments» пуст, а fetch/submit отказывают).
# Преподавателю (его formgrader и терминалу) — ещё и права роли teacher-<курс>.
def _server_token_scopes(spawner) -> list[str]:
    own = ["users:activity!user", "access:servers!server", "read:users:name!user", "read:users:groups!user"]
    return own + (TEACHER_SCOPES if spawner.user.name in TEACHERS else [])


c.Spawner.server_token_scopes = _server_token_scopes
c.Spawner.default_url = "/lab"


def _by_role(spawner) -> None:
    """Преподавателю — formgrader и своя папка курса; студенту — только список заданий и Validate.

    Настройки ролей — папки teacher/ и student/ рядом с этим файлом (nbgrader_config.py,
    jupyter_server_config.d/, labconfig/); JUPYTER_CONFIG_PATH ставит их выше всех остальных.
    """
    role = "teacher" if spawner.user.name in TEACHERS else "student"
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        [os.path.join(USER_CONFIG_DIR, role), os.path.join(USER_CONFIG_DIR, "common")]
    )
    spawner.environment["CLASSROOM_EXCHANGE"] = EXCHANGE
    if role == "teacher" and SOURCE:
        spawner.environment["CLASSROOM_SOURCE"] = SOURCE


c.Spawner.pre_spawn_hook = _by_role
