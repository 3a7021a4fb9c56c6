"""Runs the deployed `pinterest_batch` Databricks job once a day (MWAA, Airflow 3).

The job is the bundle's (resources/batch.job.yml): this DAG only triggers it through the Databricks provider's
run-now operator and waits for the run to end. The job is found by name at run time, so redeploying the bundle
(which may give the job a new id) needs no change here. Set the Airflow Variable `pinterest_batch_job_name` to
run another deployment's job (a dev deployment is named "[dev <user>] pinterest_batch"). The workspace and its
token come from the Airflow connection `databricks_default` (on MWAA, kept in AWS Secrets Manager), never
from this file: https://airflow.apache.org/docs/apache-airflow-providers-databricks/stable/connections/databricks.html
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator
from airflow.sdk import DAG

DAG_ID = "pinterest_batch"
# The name of the prod job in resources/batch.job.yml (tests/bundle checks the two agree).
BATCH_JOB_NAME = "pinterest_batch"
DATABRICKS_CONN_ID = "databricks_default"

with DAG(
    dag_id=DAG_ID,
    description="Daily run of the pinterest_batch Databricks job (sink files to bronze, silver and gold)",
    # Daily at 03:00 UTC, when the bundle's own schedule would run; pause that one (var batch_pause_status).
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    # The job reads every file not yet ingested, so one run catches up on any missed days.
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-engineering",
        # The job is idempotent: a retried run ingests only what the failed one did not commit.
        "retries": 3,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        # Above the job's own timeout (3 h), so Databricks ends a stuck run before Airflow gives up on it.
        "execution_timeout": timedelta(hours=4),
    },
    tags=["pinterest", "databricks", "batch"],
) as dag:
    DatabricksRunNowOperator(
        task_id="run_batch_job",
        databricks_conn_id=DATABRICKS_CONN_ID,
        # job_name is a templated field: resolved when the task runs, not when the DAG file is parsed.
        job_name="{{ var.value.get('pinterest_batch_job_name', '" + BATCH_JOB_NAME + "') }}",
        # Poll the run every minute; a failed or cancelled run fails the task (and so is retried).
        polling_period_seconds=60,
        wait_for_termination=True,
    )
