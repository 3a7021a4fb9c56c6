"""Runs the DAG's task against a local stand-in of the Databricks Jobs API and prints the calls it made (.venv-airflow).

The stand-in knows a few jobs by name; the task must look its job up by name, run it, and wait for the run to end.
Usage: airflow_run_now_check.py DAG_FOLDER RUN_RESULT_STATE [JOB_NAME_VARIABLE]
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

JOBS = [
    {"job_id": 41, "settings": {"name": "[dev ann] pinterest_batch"}},
    {"job_id": 42, "settings": {"name": "pinterest_batch"}},
    {"job_id": 43, "settings": {"name": "pinterest_stream"}},
]


def serve(result_state: str) -> tuple[ThreadingHTTPServer, list]:
    """A Jobs API 2.2 stand-in on 127.0.0.1: jobs/list (by name), jobs/run-now, jobs/runs/get."""
    calls: list = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            calls.append(
                {
                    "method": "GET",
                    "path": url.path,
                    "query": query,
                    "authorization": self.headers.get("Authorization"),
                }
            )
            if url.path == "/api/2.2/jobs/list":
                jobs = [j for j in JOBS if "name" not in query or j["settings"]["name"] == query["name"]]
                self._reply({"jobs": jobs, "has_more": False})
            elif url.path == "/api/2.2/jobs/runs/get":
                state = {"life_cycle_state": "TERMINATED", "result_state": result_state, "state_message": ""}
                self._reply(
                    {
                        "run_id": int(query["run_id"]),
                        "job_id": 42,
                        "state": state,
                        "status": {"state": "TERMINATED"},
                        "run_page_url": "http://127.0.0.1/run/7",
                        "tasks": [],
                    }
                )
            else:
                self.send_error(404)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            calls.append({"method": "POST", "path": self.path, "body": body})
            if self.path == "/api/2.2/jobs/run-now":
                self._reply({"run_id": 7, "number_in_job": 1})
            else:
                self.send_error(404)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, calls


class TaskInstance:
    """What the operator needs of a task instance here: somewhere to push XComs."""

    def __init__(self) -> None:
        self.xcoms: dict = {}

    def xcom_push(self, key: str, value) -> None:
        """Keep an XCom."""
        self.xcoms[key] = value


def main(dag_folder: str, result_state: str, job_name_variable: str | None) -> dict:
    """Load the DAG, render its task, execute it against the stand-in; what happened, as a dict."""
    server, calls = serve(result_state)
    # The connection as MWAA would hold it, pointed at the stand-in (a dummy token: the stand-in checks nothing).
    os.environ["AIRFLOW_CONN_DATABRICKS_DEFAULT"] = json.dumps(
        {
            "conn_type": "databricks",
            "host": "127.0.0.1",
            "port": server.server_port,
            "schema": "http",
            "password": "local-test-token",
        }
    )
    from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=dag_folder, include_examples=False)
    (dag,) = bag.dags.values()
    (task,) = dag.tasks
    ti = TaskInstance()
    context = {
        "var": {"value": {"pinterest_batch_job_name": job_name_variable} if job_name_variable else {}},
        "ti": ti,
    }
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    outcome = "success"
    try:
        task.execute(context)
    except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
        outcome = f"{type(error).__name__}: {error}"
    server.shutdown()
    return {"outcome": outcome, "job_name": task.job_name, "calls": calls, "xcoms": ti.xcoms}


if __name__ == "__main__":
    print(
        "RUN-NOW-CHECK "
        + json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
    )
