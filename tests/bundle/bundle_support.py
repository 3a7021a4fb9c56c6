"""Helpers of the bundle tests: reading the bundle and its variables, notebooks as cells, the tools venv."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TOOLS_VENV = REPO / ".venv-airflow"
NOTEBOOK_HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "# COMMAND ----------"
REFERENCE = re.compile(r"\$\{([^}]+)\}")
# What a deployer passes for the variables that have no default (docs/databricks.md), and what the CLI
# looks up or knows at deploy time.
DEPLOY_TIME = {
    "var.raw_root": "s3://pinterest-123456789012-raw",
    "var.warehouse_id": "abcdef0123456789",
    "workspace.current_user.userName": "ann@example.com",
    "workspace.current_user.short_name": "ann",
    "bundle.name": "pinterest_pipeline",
}


def bundle_files() -> dict[str, dict]:
    """databricks.yml and every file it includes, parsed, by path relative to the repository."""
    top = yaml.safe_load((REPO / "databricks.yml").read_text())
    files = {"databricks.yml": top}
    for pattern in top.get("include") or []:
        for path in sorted(glob.glob(str(REPO / pattern))):
            files[str(Path(path).relative_to(REPO))] = yaml.safe_load(Path(path).read_text())
    return files


# The job lists whose elements a target's override joins by key rather than appends (the CLI's MergeJobTasks,
# MergeJobClusters and MergeJobParameters): https://docs.databricks.com/aws/en/dev-tools/bundles/job-task-override
JOINED_BY_KEY = {"tasks": "task_key", "job_clusters": "job_cluster_key", "parameters": "name"}


def merge(base, override):
    """A target's setting over the resource's, as the CLI merges them: mappings key by key, a scalar of the
    override wins, lists are concatenated (then joined by key, see `join_by_key`)."""
    if override is None:
        return base
    if base is None:
        return override
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: merge(base.get(key), override.get(key)) for key in {**base, **override}}
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def join_by_key(job: dict) -> dict:
    """A job with the elements of its tasks, job_clusters and parameters that share a key merged into the first."""
    job = dict(job)
    for field, key in JOINED_BY_KEY.items():
        if field not in job or not all(isinstance(item, dict) for item in job[field]):
            continue
        joined: dict = {}
        for item in job[field]:
            joined[item[key]] = merge(joined.get(item[key]), item)
        job[field] = list(joined.values())
    return job


def resources(kind: str, target: str | None = None) -> dict[str, tuple[str, dict]]:
    """Every resource of a kind ("jobs", "volumes", "dashboards"): key -> (file, spec); with a target, the spec
    with the target's overrides merged in (the file stays the one that defines the resource)."""
    found = {}
    for path, doc in bundle_files().items():
        for key, spec in ((doc or {}).get("resources") or {}).get(kind, {}).items():
            assert key not in found, f"{kind} {key} defined twice"
            found[key] = (path, spec)
    if target is not None:
        overrides = ((bundle_files()["databricks.yml"]["targets"][target] or {}).get("resources") or {}).get(
            kind
        )
        for key, spec in (overrides or {}).items():
            assert key in found, f"target {target} overrides {kind} {key}, which no file defines"
            merged = merge(found[key][1], spec)
            found[key] = (found[key][0], join_by_key(merged) if kind == "jobs" else merged)
    return found


def variables(target: str) -> dict[str, str]:
    """The bundle's variables as a target sees them: defaults, the target's overrides, deploy-time values."""
    top = bundle_files()["databricks.yml"]
    values = {name: spec.get("default") for name, spec in top["variables"].items()}
    values.update((top["targets"][target] or {}).get("variables") or {})
    for name, value in list(values.items()):
        if value is None and f"var.{name}" in DEPLOY_TIME:
            values[name] = DEPLOY_TIME[f"var.{name}"]
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"variables without a value in {target}: {missing}"
    return values


def resolve(value: str, target: str) -> str:
    """Substitute ${var.x}, ${resources.<kind>.<key>.<field>} and deploy-time references, as the CLI would."""
    values = variables(target)

    def lookup(match: re.Match) -> str:
        ref = match.group(1)
        if ref.startswith("var."):
            return str(values[ref[4:]])
        if ref.startswith("resources."):
            _, kind, key, field = ref.split(".", 3)
            return resolve(str(resources(kind)[key][1][field]), target)
        if ref in DEPLOY_TIME:
            return DEPLOY_TIME[ref]
        raise AssertionError(f"unknown reference ${{{ref}}}")

    return REFERENCE.sub(lookup, value)


def notebook_cells(path: Path) -> list[str]:
    """The cells of a notebook in Databricks' source format (the header line checked and removed)."""
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    assert first == NOTEBOOK_HEADER, f"{path.name} does not start with {NOTEBOOK_HEADER!r}"
    return [cell.strip("\n") for cell in rest.split(f"\n{CELL_SEPARATOR}\n")]


def run_notebook(path: Path, namespace: dict) -> dict:
    """Execute a notebook's cells in order in one namespace, as Databricks runs them (magics are comments)."""
    for number, cell in enumerate(notebook_cells(path), start=1):
        exec(compile(cell, f"{path.name}[cell {number}]", "exec"), namespace)  # noqa: S102 - the notebook under test
    return namespace


def tools_python() -> Path:
    """The interpreter of .venv-airflow (Airflow, its Databricks provider, databricks-bundles)."""
    python = TOOLS_VENV / "bin" / "python"
    if python.exists():
        return python
    if os.environ.get("PINTEREST_REQUIRE_AIRFLOW") == "1":
        pytest.fail(
            f"{TOOLS_VENV} is missing and PINTEREST_REQUIRE_AIRFLOW=1 (build it: dags/setup_airflow_venv.sh)"
        )
    pytest.skip(f"{TOOLS_VENV} not built (dags/setup_airflow_venv.sh; `make test` builds it)")


def run_tools_script(script: str, *args: str, env: dict | None = None, marker: str) -> dict:
    """Run a check script of this folder in .venv-airflow and return the JSON it prints after `marker`."""
    result = subprocess.run(
        [str(tools_python()), str(Path(__file__).parent / script), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(marker + " ")]
    assert result.returncode == 0 and lines, (
        f"{script} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    )
    return json.loads(lines[-1][len(marker) + 1 :])


CATEGORIES = ("art", "diy", "travel", "beauty")
COUNTRIES = ("Albania", "Chad", "Peru")
AGES = (20, 30, 45, 61)


def _sink_module():
    """tests/pipeline/sink.py, loaded by path (tests/pipeline is a package, this folder is not)."""
    spec = importlib.util.spec_from_file_location(
        "bundle_tests_sink", REPO / "tests" / "pipeline" / "sink.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def posts() -> dict[str, list]:
    """24 posts over 3 countries, 4 categories, 5 post years and 6 join years; a re-sent post; bad records."""
    pins, geos, users = [], [], []
    for i in range(24):
        pins.append(
            {
                "index": i,
                "unique_id": f"u{i}",
                "title": f"title {i}",
                "description": "d",
                "poster_name": f"poster {i % 5}",
                "follower_count": f"{(i * 7) % 30 + 1}k",
                "tag_list": "a,b",
                "is_image_or_video": "image",
                "image_src": "s",
                "downloaded": 1,
                "save_location": f"Local save in /data/{CATEGORIES[i % 4]}",
                "category": CATEGORIES[i % 4],
            }
        )
        geos.append(
            {
                "ind": i,
                "timestamp": f"{2018 + i % 5}-0{1 + i % 9}-1{i % 9} 10:00:00",
                "latitude": 1.5 + i,
                "longitude": -2.5,
                "country": COUNTRIES[i % 3],
            }
        )
        users.append(
            {
                "ind": i,
                "first_name": f"First{i % 7}",
                "last_name": "Last",
                "age": AGES[i % 4],
                "date_joined": f"{2015 + i % 6}-05-05T08:00:00",
            }
        )
    pins += [pins[3], "{not json", {**pins[5], "index": 99, "follower_count": "lots"}]
    geos += [geos[3], {"ind": "x", "timestamp": "2019-01-01 00:00:00"}]
    users += [{**users[2], "ind": 98, "age": "old"}]
    return {"pin": pins, "geo": geos, "user": users}


def landing(raw: Path) -> None:
    """The posts as Kafka Connect's S3 sink lands them, 10 records a file."""
    sink_files = _sink_module().sink_files
    for entity, records in posts().items():
        sink_files(raw, f"pinterest.{entity}", records, flush_size=10)


def lake_tables(lake: Path) -> dict[str, list[dict]]:
    """Every Delta table under a lake root, rows sorted, with ingest times (and progress/batch's, the ingest time a
    run reached) dropped and sources made relative."""
    from delta_tables import delta_rows

    tables = {}
    for log in sorted(lake.glob("**/_delta_log")):
        rows = delta_rows(log.parent)
        for row in rows:
            row.pop("ingested_at", None)
            row.pop("bronze_through", None)
            for key in ("source_file", "source"):
                if row.get(key):
                    row[key] = row[key].rsplit("/", 1)[-1]
        tables[str(log.parent.relative_to(lake))] = sorted(
            rows, key=lambda r: json.dumps(r, sort_keys=True, default=str)
        )
    return tables
