#!/usr/bin/env bash
# Builds .venv-airflow at the repository root: Airflow 3 with the Databricks provider, to load dags/ the way
# MWAA does, plus databricks-bundles (the Python loader of bundle resources), kept out of the main .venv
# because Airflow pins its own versions of many libraries Spark's side also uses.
# Idempotent: a stamp records the requirements it was built from; an unchanged venv is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv-airflow
# Airflow 3.0.x is what current MWAA environments run (https://docs.aws.amazon.com/mwaa/latest/userguide/airflow-versions.html);
# 3.1 keeps the same task SDK, so both load the DAG the same way.
REQUIREMENTS=(
    "apache-airflow>=3.0.6,<3.2"
    "apache-airflow-providers-databricks>=7.3,<8"
    "databricks-bundles>=0.260,<1"
    "pyyaml>=6"
)
STAMP="$VENV/.installed"
WANT="$(printf '%s\n' "${REQUIREMENTS[@]}")"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && "$VENV/bin/python" -c "from importlib.metadata import version as v; [v(p) for p in ('apache-airflow', 'apache-airflow-providers-databricks', 'databricks-bundles')]" 2>/dev/null; then
    exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${REQUIREMENTS[@]}"
printf '%s\n' "$WANT" > "$STAMP"
