"""Старый путь к `course.grading.cli` (`python -m course.cli …` тоже работает)."""

import sys

from course.grading import cli as _module

if __name__ == "__main__":
    raise SystemExit(_module.main())
sys.modules[__name__] = _module
