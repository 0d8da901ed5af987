"""Машинерия проверки: выпуск заданий, исполнитель ячеек, оценка класса, самопроверка.

Не путать с тем, что импортируют сами тесты упражнений (`course.checks`,
`course.race_checks`, `course.async_checks`, `course.review`), и с помощниками лекций
(`course.slow_api`, `course.workloads`, `course.timeline`, …): этот подпакет работает *вокруг*
кода студента — решает, что запустить, с какими лимитами, и записывает баллы.

- `release` — `course release`: из `solutions/` собрать `notebooks/`, проверить исходники;
- `executor` — `RobustExecute`: ячейки с лимитами и перезапуском ядра (для nbgrader);
- `grade` — `course grade`: класс параллельно, база оценок, отзывы, CSV;
- `check` — `course check`: самопроверка ноутбука так, как его проверит преподаватель;
- `cli` — командная строка `course`.

Старые пути (`course.executor`, `course.release`, `course.grader`, `course.selfcheck`,
`course.cli`) — псевдонимы этих модулей.
"""
