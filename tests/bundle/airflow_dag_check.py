"""Loads dags/ with Airflow's DagBag and prints what the test checks as JSON (runs in .venv-airflow)."""

from __future__ import annotations

import json
import sys


def _render_job_name(dag, task) -> dict | None:
    """job_name rendered by the DAG's Jinja environment with no Airflow Variable set, and with one set."""
    if not getattr(task, "job_name", None):
        return None
    template = dag.get_template_env().from_string(task.job_name)
    return {
        "default": template.render(var={"value": {}}),
        "override": template.render(var={"value": {"pinterest_batch_job_name": "[dev ann] pinterest_batch"}}),
    }


def describe(dag_folder: str) -> dict:
    """The import errors and, per DAG, its schedule and tasks."""
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=dag_folder, include_examples=False)
    dags = {}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for task in dag.tasks:
            tasks[task.task_id] = {
                "operator": f"{type(task).__module__}.{type(task).__name__}",
                "retries": task.retries,
                "retry_delay_seconds": task.retry_delay.total_seconds(),
                "retry_exponential_backoff": bool(task.retry_exponential_backoff),
                "execution_timeout_seconds": task.execution_timeout.total_seconds()
                if task.execution_timeout
                else None,
                "template_fields": list(task.template_fields),
                "job_name": getattr(task, "job_name", None),
                "job_id": getattr(task, "job_id", None),
                "databricks_conn_id": getattr(task, "databricks_conn_id", None),
                "job_name_rendered": _render_job_name(dag, task),
            }
        dags[dag_id] = {
            "schedule": str(dag.schedule),
            "timetable": type(dag.timetable).__name__,
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "tasks": tasks,
        }
    return {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags}


if __name__ == "__main__":
    print("DAG-CHECK " + json.dumps(describe(sys.argv[1]), default=str))
