"""The bundle against the official schema and databricks-bundles, and the settings the issue asks for."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml
from bundle_support import (
    REFERENCE,
    REPO,
    bundle_files,
    join_by_key,
    merge,
    resources,
    run_tools_script,
    variables,
)
from outside_inputs import bundle_validator

ISSUE_VARIABLES = {"catalog", "schema", "raw_root", "stream_prefix", "region", "service_credential"}


def validate(root) -> subprocess.CompletedProcess:
    """Run the official bundle validator on a bundle root."""
    return subprocess.run(
        [sys.executable, str(bundle_validator()), str(root)], capture_output=True, text=True, check=False
    )


def test_bundle_is_valid_against_the_official_schema():
    result = validate(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    files = len(bundle_files())
    assert f"validate_bundle: {files} files, {len(resources('jobs'))} jobs, 0 invalid" in result.stdout


def test_validator_catches_a_broken_job(tmp_path):
    shutil.copy(REPO / "databricks.yml", tmp_path / "databricks.yml")
    shutil.copytree(REPO / "resources", tmp_path / "resources")
    job = yaml.safe_load((REPO / "resources" / "batch.job.yml").read_text())
    job["resources"]["jobs"]["pinterest_batch"]["tasks"][0]["retries"] = 2  # the field is max_retries
    (tmp_path / "resources" / "batch.job.yml").write_text(yaml.safe_dump(job))
    result = validate(tmp_path)
    assert result.returncode == 1
    assert "resources/batch.job.yml" in result.stdout and "retries" in result.stdout


def test_every_job_loads_with_databricks_bundles():
    loaded = run_tools_script("bundles_load_check.py", str(REPO), marker="BUNDLES-CHECK")
    assert loaded["errors"] == []
    jobs = resources("jobs")
    assert sorted(loaded["jobs"]) == sorted(jobs) == ["pinterest_batch", "pinterest_stream"]
    for key, job in loaded["jobs"].items():
        assert job["round_trip"], f"{key}: databricks-bundles dropped or changed a field"
        assert job["name"] == jobs[key][1]["name"]
    assert loaded["volumes"] == {"lake": {"name": "lake", "round_trip": True}}


def test_one_resource_per_file_named_after_it():
    kinds = {"jobs": "job", "dashboards": "dashboard", "volumes": "volume"}
    for path, doc in bundle_files().items():
        if path == "databricks.yml":
            assert "resources" not in doc
            continue
        ((kind, items),) = doc["resources"].items()
        assert len(items) == 1, path
        assert path.endswith(f".{kinds[kind]}.yml"), path
    assert {p for p in bundle_files()} >= {
        "resources/batch.job.yml",
        "resources/stream.job.yml",
        "resources/insights.dashboard.yml",
    }


def test_variables_are_declared_described_and_used():
    top = bundle_files()["databricks.yml"]
    declared = set(top["variables"])
    assert ISSUE_VARIABLES <= declared
    assert all(spec.get("description") for spec in top["variables"].values())
    text = "\n".join(yaml.safe_dump(doc) for doc in bundle_files().values())
    used = {ref[4:] for ref in REFERENCE.findall(text) if ref.startswith("var.")}
    assert used == declared


def test_dev_prod_and_classic_targets():
    targets = bundle_files()["databricks.yml"]["targets"]
    assert sorted(targets) == ["classic", "dev", "prod"]
    assert targets["dev"]["mode"] == "development" and targets["dev"]["default"] is True
    assert targets["prod"]["mode"] == targets["classic"]["mode"] == "production"
    # Each target resolves every variable (deploy-time ones as documented), and dev keeps its tables apart.
    assert variables("dev")["schema"] != variables("prod")["schema"] == variables("classic")["schema"]


def wheel_paths(node, folder):
    """Every wheel a job installs (task libraries, environment dependencies), resolved from its file's folder."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "whl":
                yield (folder / value).resolve()
            elif key == "dependencies":
                yield from ((folder / v).resolve() for v in value)
            else:
                yield from wheel_paths(value, folder)
    elif isinstance(node, list):
        for item in node:
            yield from wheel_paths(item, folder)


def test_wheel_artifact_is_what_the_tasks_install():
    top = bundle_files()["databricks.yml"]
    (artifact,) = top["artifacts"].values()
    assert artifact["type"] == "whl" and artifact["path"] == "."
    assert "--wheel-dir dist" in artifact["build"]
    # Paths are relative to the file that sets them: ../dist from resources/, ./dist in databricks.yml's targets.
    found = list(wheel_paths({t: spec.get("resources") for t, spec in top["targets"].items()}, REPO))
    for path, doc in bundle_files().items():
        if path != "databricks.yml":
            found += wheel_paths(doc["resources"], (REPO / path).parent)
    assert len(found) == 4  # the stream task, serverless dev and prod (one environment), classic batch
    assert set(found) == {REPO / "dist" / "*.whl"}


def batch_task(target: str) -> tuple[dict, dict]:
    """The batch job and its task as a target deploys them."""
    _, job = resources("jobs", target)["pinterest_batch"]
    (task,) = job["tasks"]
    return job, task


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_batch_job_is_serverless_by_default(target):
    job, task = batch_task(target)
    (environment,) = [e for e in job["environments"] if e["environment_key"] == task["environment_key"]]
    assert environment["spec"]["environment_version"]
    assert "./dist/*.whl" in environment["spec"]["dependencies"]
    assert not {"job_cluster_key", "libraries", "new_cluster", "existing_cluster_id"} & set(task)
    assert "job_clusters" not in job
    assert variables(target)["batch_compute"] == "serverless"


def test_classic_target_runs_the_batch_job_on_a_job_cluster():
    job, task = batch_task("classic")
    assert task["job_cluster_key"] in {c["job_cluster_key"] for c in job["job_clusters"]}
    assert task["libraries"] == [{"whl": "./dist/*.whl"}]
    assert "environment_key" not in task and "environments" not in job
    assert variables("classic")["batch_compute"] == "classic"
    # The override adds compute only: the task still runs the batch command as the resource file defines it.
    _, base = resources("jobs")["pinterest_batch"]
    assert task["python_wheel_task"] == base["tasks"][0]["python_wheel_task"]
    assert task["max_retries"] == base["tasks"][0]["max_retries"]


def test_target_overrides_merge_as_the_cli_merges():
    base = {
        "name": "j",
        "tags": {"a": "1"},
        "tasks": [{"task_key": "t", "max_retries": 1, "libraries": [{"whl": "x"}]}, {"task_key": "u"}],
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"num_workers": 1, "node_type_id": "m"}}],
    }
    override = {
        "tags": {"b": "2"},
        "tasks": [{"task_key": "t", "max_retries": 3, "libraries": [{"whl": "y"}], "job_cluster_key": "c"}],
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"num_workers": 2}}],
        "environments": [{"environment_key": "e"}],
    }
    job = join_by_key(merge(base, override))
    assert job["name"] == "j" and job["tags"] == {"a": "1", "b": "2"}
    assert job["tasks"] == [
        {
            "task_key": "t",
            "max_retries": 3,
            "libraries": [{"whl": "x"}, {"whl": "y"}],
            "job_cluster_key": "c",
        },
        {"task_key": "u"},
    ]
    assert job["job_clusters"] == [
        {"job_cluster_key": "c", "new_cluster": {"num_workers": 2, "node_type_id": "m"}}
    ]
    assert job["environments"] == [{"environment_key": "e"}]
    assert base["tasks"][0]["max_retries"] == 1  # the resource's own spec is left as it was


def test_batch_job_runs_daily_with_retries_and_a_timeout():
    _, job = resources("jobs")["pinterest_batch"]
    schedule = job["schedule"]
    seconds, minutes, hours, day, month, weekday = schedule["quartz_cron_expression"].split()
    assert (seconds, day, month, weekday) == ("0", "*", "*", "?")
    assert minutes.isdigit() and hours.isdigit() and int(hours) < 24
    assert schedule["timezone_id"] == "UTC"
    assert variables("prod")["batch_pause_status"] == "UNPAUSED"
    assert job["timeout_seconds"] > 0 and job["max_concurrent_runs"] == 1
    (task,) = job["tasks"]
    assert task["max_retries"] >= 1 and task["min_retry_interval_millis"] > 0
    assert 0 < task["timeout_seconds"] <= job["timeout_seconds"]
    assert task["python_wheel_task"]["parameters"][0] == "batch"


def test_stream_job_is_continuous_and_runs_the_stream_command_on_a_job_cluster():
    _, job = resources("jobs")["pinterest_stream"]
    assert job["continuous"]["pause_status"] == "UNPAUSED"
    assert "schedule" not in job and "trigger" not in job
    assert job["max_concurrent_runs"] == 1
    (task,) = job["tasks"]
    assert task["python_wheel_task"]["parameters"][0] == "stream"
    assert task["job_cluster_key"] in {c["job_cluster_key"] for c in job["job_clusters"]}
    assert "environment_key" not in task
    # Every target keeps it there: its processing-time trigger is not available on serverless compute.
    for target in ("dev", "prod", "classic"):
        assert resources("jobs", target)["pinterest_stream"][1] == job


SECRET_PATTERNS = {
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Databricks token": re.compile(r"\bdapi[0-9a-f]{32}\b"),
    "secret assignment": re.compile(
        r"(?i)\b(secret_access_key|password|token)\b\s*[:=]\s*['\"]?[A-Za-z0-9/+]{8,}"
    ),
}


def test_no_secrets_in_bundle_notebooks_or_dags():
    paths = [
        REPO / "databricks.yml",
        *sorted((REPO / "resources").iterdir()),
        *sorted((REPO / "notebooks").glob("*.py")),
        *sorted((REPO / "dags").glob("*.py")),
    ]
    for path in paths:
        text = path.read_text()
        for what, pattern in SECRET_PATTERNS.items():
            assert not pattern.search(text), f"{what} in {path.relative_to(REPO)}"
    # The checks do find what they look for.
    assert SECRET_PATTERNS["AWS access key"].search("key AKIAIOSFODNN7EXAMPLE")
    assert SECRET_PATTERNS["secret assignment"].search("password: hunter2hunter2")


def test_deploy_never_uploads_local_virtualenvs_or_lakes():
    import fnmatch

    excluded = bundle_files()["databricks.yml"]["sync"]["exclude"]
    for path in (
        ".venv/bin/python",
        ".venv-airflow/lib/python3.11/site-packages/airflow/__init__.py",
        ".pinterest/lake/gold/x/_delta_log/0.json",
    ):
        assert any(fnmatch.fnmatch(path, pattern) for pattern in excluded), path
    assert not any(fnmatch.fnmatch("notebooks/batch.py", pattern) for pattern in excluded)
