"""Loads every job (and volume) of the bundle with `databricks-bundles` and prints a JSON summary (runs in .venv-airflow)."""

from __future__ import annotations

import glob
import json
import os
import sys

import yaml


def load(root: str) -> dict:
    """Per resource file, each job loaded with Job.from_dict: its name, tasks, and whether as_dict() round-trips."""
    from databricks.bundles.jobs import Job
    from databricks.bundles.volumes import Volume

    with open(os.path.join(root, "databricks.yml")) as f:
        top = yaml.safe_load(f)
    files = [os.path.join(root, "databricks.yml")]
    for pattern in top.get("include") or []:
        files += sorted(glob.glob(os.path.join(root, pattern)))
    out: dict = {"jobs": {}, "volumes": {}, "errors": []}
    for path in files:
        with open(path) as f:
            resources = (yaml.safe_load(f) or {}).get("resources") or {}
        for key, spec in (resources.get("jobs") or {}).items():
            try:
                job = Job.from_dict(spec)
            except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
                out["errors"].append(f"{os.path.basename(path)}: job {key}: {type(error).__name__}: {error}")
                continue
            out["jobs"][key] = {
                "file": os.path.basename(path),
                "name": str(job.name),
                "tasks": [str(t.task_key) for t in job.tasks],
                "round_trip": job.as_dict() == spec,
            }
        for key, spec in (resources.get("volumes") or {}).items():
            try:
                volume = Volume.from_dict(spec)
            except Exception as error:  # noqa: BLE001
                out["errors"].append(
                    f"{os.path.basename(path)}: volume {key}: {type(error).__name__}: {error}"
                )
                continue
            out["volumes"][key] = {"name": str(volume.name), "round_trip": volume.as_dict() == spec}
    return out


if __name__ == "__main__":
    print("BUNDLES-CHECK " + json.dumps(load(sys.argv[1])))
