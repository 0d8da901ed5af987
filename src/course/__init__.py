"""Вспомогательный пакет курса «Конкурентность в Python».

Три части:
- `course.grading` — машинерия проверки (выпуск, исполнитель, оценка класса, самопроверка, CLI);
- то, что импортируют тесты упражнений: `checks`, `race_checks`, `async_checks`, `review`;
- помощники лекций: `notebook` (настройка и режим проверки), `slow_api` (локальный медленный
  сервис), `workloads`, `measure`, `timeline`, `timeline_plot`, `procs`, `pipelines`,
  `scripts`, `gil`, `miniloop`, `echo_server`, `webapp`, `celery_demo`, `comparison`.
Импорт пакета лёгкий: тяжёлые зависимости (matplotlib, nbgrader) грузятся в своих модулях.
"""

__version__ = "0.1.0"
