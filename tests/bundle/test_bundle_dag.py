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
    result = run_tools_script(
        "airflow_dag_check.py", str(tmp_path), env={"AIRFLOW_HOME": str(home)}, marker="DAG-CHECK"
    )
    assert list(result["import_errors"]) == [str(tmp_path / "broken.py")]
    assert "DatabricksRunJobOperator" in result["import_errors"][str(tmp_path / "broken.py")]
    assert result["dags"] == {}


def run_now(tmp_path, result_state: str, job_name_variable: str | None = None) -> dict:
    """The DAG's task executed against a local stand-in of the Jobs API (see airflow_run_now_check.py)."""
    args = [str(REPO / "dags"), result_state] + ([job_name_variable] if job_name_variable else [])
    return run_tools_script(
        "airflow_run_now_check.py", *args, env={"AIRFLOW_HOME": str(tmp_path)}, marker="RUN-NOW-CHECK"
    )


def test_task_finds_the_prod_job_by_name_runs_it_and_waits(tmp_path):
    result = run_now(tmp_path, "SUCCESS")
    assert result["outcome"] == "success"
    lookup, run, *polls = result["calls"]
    assert (lookup["path"], lookup["query"]["name"]) == ("/api/2.2/jobs/list", "pinterest_batch")
    assert (run["path"], run["body"]) == ("/api/2.2/jobs/run-now", {"job_id": 42})
    assert polls and all(p["path"] == "/api/2.2/jobs/runs/get" and p["query"]["run_id"] == "7" for p in polls)
    assert result["xcoms"]["run_id"] == 7


def test_an_airflow_variable_points_the_task_at_another_deployment(tmp_path):
    result = run_now(tmp_path, "SUCCESS", "[dev ann] pinterest_batch")
    assert result["job_name"] == "[dev ann] pinterest_batch"
    assert [c["body"] for c in result["calls"] if c["method"] == "POST"] == [{"job_id": 41}]


def test_a_failed_run_fails_the_task(tmp_path):
    result = run_now(tmp_path, "FAILED")
    assert result["outcome"].startswith("AirflowException") and "FAILED" in result["outcome"]


def test_a_missing_job_fails_before_running_anything(tmp_path):
    result = run_now(tmp_path, "SUCCESS", "pinterest_batch_renamed")
    assert "can not be found" in result["outcome"]
    assert [c for c in result["calls"] if c["method"] == "POST"] == []


def test_mwaa_requirements_name_the_provider_the_dag_imports():
    lines = [line.strip() for line in (REPO / "dags" / "requirements.txt").read_text().splitlines()]
    assert "apache-airflow-providers-databricks" in lines
    (constraint,) = [line for line in lines if line.startswith("--constraint")]
    assert "/constraints-3." in constraint  # an Airflow 3 environment, as the DAG's airflow.sdk import needs
    assert "from airflow.providers.databricks." in (REPO / "dags" / "pinterest_batch.py").read_text()


def test_a_missing_airflow_venv_skips_unless_required(tmp_path, monkeypatch):
    import bundle_support

    monkeypatch.setattr(bundle_support, "TOOLS_VENV", tmp_path / "no-venv")
    monkeypatch.delenv("PINTEREST_REQUIRE_AIRFLOW", raising=False)
    with pytest.raises(pytest.skip.Exception, match="setup_airflow_venv.sh"):
        bundle_support.tools_python()
    monkeypatch.setenv("PINTEREST_REQUIRE_AIRFLOW", "1")
    with pytest.raises(pytest.fail.Exception, match="PINTEREST_REQUIRE_AIRFLOW=1"):
        bundle_support.tools_python()
