#!/usr/bin/env bash
# Студентам — список заданий и «Validate»; инструменты преподавателя (formgrader,
# create-assignment) скрыты. Вызывается из binder/postBuild и из `make setup`.
set -euo pipefail
jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null 2>&1
jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader >/dev/null 2>&1
jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:create-assignment >/dev/null 2>&1
