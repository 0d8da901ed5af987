# Две команды курса:  make lab  — установить всё и открыть JupyterLab;  make test — все тесты.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
LAB_FLAGS ?=
# JupyterLab отказывается работать от root без --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab setup test lint release lock clean

lab: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir="$(CURDIR)" $(ROOT_FLAG) $(LAB_FLAGS) notebooks/index.ipynb

setup: $(STAMP)

$(STAMP): requirements/course.txt requirements/dev.txt pyproject.toml binder/hide-teacher-tools.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	PATH="$(CURDIR)/$(BIN):$$PATH" bash binder/hide-teacher-tools.sh
	touch $(STAMP)

test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: setup
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
