# Две команды курса:  make lab  — установить всё и открыть JupyterLab;  make test — все тесты.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE_STAMP := $(VENV)/.course-installed
DEV_STAMP    := $(VENV)/.dev-installed
PORT   ?= 8888
LAB_FLAGS ?=
# JupyterLab отказывается работать от root без --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Файловый браузер — в notebooks/: студенту незачем видеть solutions/ и tests/.
LAB_ROOT := $(CURDIR)/notebooks

.PHONY: lab setup dev test lint release lock clean python-version

# Сервер запускается из корня курса: там nbgrader_config.py, который читает кнопка Validate.
lab: setup
	@echo "JupyterLab курса: файлы — notebooks/, начните с index.ipynb. Остановить — Ctrl+C дважды."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir="$(LAB_ROOT)" --LabApp.default_url=/lab/tree/index.ipynb \
		$(ROOT_FLAG) $(LAB_FLAGS)

# Только то, что нужно курсу (requirements/course.txt). Инструменты тестов — make dev / make test.
setup: $(COURSE_STAMP)

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Курсу нужен Python 3.11 или новее, а $(PYTHON) — это: $$(command -v $(PYTHON) >/dev/null 2>&1 && $(PYTHON) -V 2>&1 || echo 'не найден')."; \
		echo "Установите Python 3.11+ и укажите его: make lab PYTHON=python3.11"; exit 1; }

# Версию проверяем, только когда .venv ещё нет: готовое окружение годится при любом python3.
$(COURSE_STAMP): requirements/course.txt pyproject.toml binder/hide-teacher-tools.sh
	@test -x $(BIN)/python || $(MAKE) --no-print-directory python-version PYTHON="$(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "В $(VENV) старый Python ($$($(BIN)/python -V)): удалите папку $(VENV) и повторите."; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Ставлю пакеты курса (около 130, первый раз — 1–3 минуты; ниже видно, что идёт):"
	$(BIN)/python -m pip install --progress-bar on -r requirements/course.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	PATH="$(CURDIR)/$(BIN):$$PATH" bash binder/hide-teacher-tools.sh
	touch $(COURSE_STAMP)

dev: $(DEV_STAMP)

$(DEV_STAMP): $(COURSE_STAMP) requirements/dev.txt
	@echo "Ставлю инструменты тестов (pytest, ruff, jupyterhub, repo2docker, playwright):"
	$(BIN)/python -m pip install --progress-bar on -r requirements/dev.txt
	touch $(DEV_STAMP)

test: dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check .

release: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/course release

# Пересобрать закреплённые версии из requirements/*.in (нужен доступ к PyPI).
lock:
	rm -rf build/lockenv && $(PYTHON) -m venv build/lockenv
	build/lockenv/bin/pip install --quiet -r requirements/course.in
	build/lockenv/bin/pip freeze --exclude-editable > build/course.freeze
	build/lockenv/bin/pip install --quiet -r requirements/dev.in
	build/lockenv/bin/pip freeze --exclude-editable > build/dev.freeze
	$(PYTHON) src/course/pins.py build/course.freeze build/dev.freeze

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
