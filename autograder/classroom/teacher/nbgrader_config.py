# nbgrader преподавателя: настройки курса из репозитория (русская заготовка, устойчивая
# проверка, отзывы без скрытых тестов) + своя папка курса с обменом.
#   CLASSROOM_COURSE_DIR — папка курса (по умолчанию ~/concurrency-python-course): release/,
#       submitted/ (сюда кладёт `nbgrader collect`), autograded/, feedback/, gradebook.db;
#   исходники заданий — solutions/ этого репозитория.
# Оценка класса: course --root <репозиторий> grade 01-basics --course-dir ~/concurrency-python-course
import os

c = get_config()  # noqa: F821 — get_config подставляет nbgrader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
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
