# nbgrader преподавателя: настройки курса из репозитория (русская заготовка, устойчивая
# проверка, отзывы без скрытых тестов) + своя папка курса с обменом.
#   CLASSROOM_COURSE_DIR — папка курса (по умолчанию ~/concurrency-python-course): release/,
#       submitted/ (сюда кладёт `nbgrader collect`), autograded/, feedback/, gradebook.db;
#   исходники заданий — solutions/ в CLASSROOM_SOURCE.
# Оценка класса: course grade 01-basics (из любой папки: этот файл находится через JUPYTER_CONFIG_PATH)
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader

# Исходники курса (solutions/ с ответами и скрытыми тестами, autograder/): CLASSROOM_SOURCE —
# копия, которую читает только группа преподавателей (или своя закрытая копия преподавателя);
# без неё — репозиторий, в котором лежит этот файл.
HERE_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
REPO = os.environ.get("CLASSROOM_SOURCE") or HERE_REPO
load_subconfig(os.path.join(REPO, "autograder", "nbgrader_config.py"))  # noqa: F821
COURSE_DIR = os.environ.get("CLASSROOM_COURSE_DIR", os.path.expanduser("~/concurrency-python-course"))
os.makedirs(COURSE_DIR, exist_ok=True)  # nbgrader сам её не создаёт

c.CourseDirectory.root = COURSE_DIR
c.CourseDirectory.source_directory = os.path.join(REPO, "solutions")
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_DIR, "gradebook.db")
c.ZipCollectApp.downloaded_directory = "downloaded"
