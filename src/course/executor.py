"""Старый путь к `course.grading.executor`: оставлен для ноутбуков и конфигураций nbgrader
преподавателей, которые его называют. Это тот же модуль, а не копия."""

import sys

from course.grading import executor as _module

sys.modules[__name__] = _module
