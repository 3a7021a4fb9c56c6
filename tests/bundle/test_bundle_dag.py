"""The MWAA DAG, loaded by real Airflow 3 (in .venv-airflow): no import errors, the schedule, the task."""

from __future__ import annotations

import pytest

from bundle_support import REPO, resources, run_tools_script


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    """What Airflow's DagBag makes of dags/."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    return run_tools_script("airflow_dag_check.py", str(REPO / "dags"), env=env, marker="DAG-CHECK")


def test_dag_folder_loads_without_import_errors(dagbag):
    assert dagbag["import_errors"] == {}
    assert sorted(dagbag["dags"]) == ["pinterest_batch"]


def test_dag_runs_daily_from_a_fixed_start_without_backfill(dagbag):
    dag = dagbag["dags"]["pinterest_batch"]
    assert dag["schedule"] == "0 3 * * *"
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert dag["start_date"] == "2026-01-01T00:00:00+00:00"


def test_dag_task_runs_the_bundle_job_by_name_with_retries(dagbag):
    (task,) = dagbag["dags"]["pinterest_batch"]["tasks"].values()
    assert task["operator"] == "airflow.providers.databricks.operators.databricks.DatabricksRunNowOperator"
    assert task["job_id"] is None and "job_name" in task["template_fields"]
    _, job = resources("jobs")["pinterest_batch"]
    assert task["job_name_rendered"] == {"default": job["name"], "override": "[dev ann] pinterest_batch"}
    assert task["databricks_conn_id"] == "databricks_default"
    assert task["retries"] >= 1 and task["retry_delay_seconds"] > 0 and task["retry_exponential_backoff"]
    # Airflow waits longer than Databricks lets the run last, so the job's own timeout ends a stuck run.
    assert task["execution_timeout_seconds"] > job["timeout_seconds"]


def test_the_check_reports_a_broken_dag(tmp_path):
    # A DAG file importing an operator the provider does not have: the mistake the check is there to catch.
    (tmp_path / "broken.py").write_text(
        "from airflow.providers.databricks.operators.databricks import DatabricksRunJobOperator\n"
        "from airflow.sdk import DAG\n"
    )
    home = tmp_path / "home"
    result = run_tools_script("airflow_dag_check.py", str(tmp_path), env={"AIRFLOW_HOME": str(home)}, marker="DAG-CHECK")
    assert list(result["import_errors"]) == [str(tmp_path / "broken.py")]
    assert "DatabricksRunJobOperator" in result["import_errors"][str(tmp_path / "broken.py")]
    assert result["dags"] == {}
