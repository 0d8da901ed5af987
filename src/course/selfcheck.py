"""Старый путь к `course.grading.check`: оставлен для ноутбуков и конфигураций nbgrader
преподавателей, которые его называют. Это тот же модуль, а не копия."""

import sys

from course.grading import check as _module

sys.modules[__name__] = _module
