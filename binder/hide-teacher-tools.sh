#!/usr/bin/env bash
# Студенту без класса (make lab, Binder) — только кнопка Validate. Скрыты инструменты
# преподавателя (formgrader, create-assignment) и панели обмена nbgrader (список заданий,
# список курсов, меню Nbgrader): без JupyterHub и папки обмена они не работают. Класс на
# JupyterHub включает список заданий обратно своей конфигурацией
# (autograder/classroom/student/). Вызывается из binder/postBuild и из `make setup`.
#
# Пишем те же файлы, что `jupyter server extension disable --sys-prefix` и
# `jupyter labextension disable --level=sys_prefix`, но одним Python за долю секунды
# (восемь вызовов jupyter на занятой машине шли 2.5 минуты).
set -euo pipefail
python - <<'PY'
import json
import sys
from pathlib import Path

etc = Path(sys.prefix) / "etc" / "jupyter"


def merge(path: Path, section: str, key: str, values: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault(section, {}).setdefault(key, {}).update(values)
    path.write_text(json.dumps(data, indent=2) + "\n")


for extension in ("formgrader", "course_list", "assignment_list"):
    name = f"nbgrader.server_extensions.{extension}"
    merge(etc / "jupyter_server_config.d" / f"{name}.json", "ServerApp", "jpserver_extensions", {name: False})
plugins = ("formgrader", "create-assignment", "course-list", "assignment-list", "menu")
page = etc / "labconfig" / "page_config.json"
page.parent.mkdir(parents=True, exist_ok=True)
data = json.loads(page.read_text()) if page.exists() else {}
data.setdefault("disabledExtensions", {}).update({f"@jupyter/nbgrader:{p}": True for p in plugins})
page.write_text(json.dumps(data, indent=2) + "\n")
PY
