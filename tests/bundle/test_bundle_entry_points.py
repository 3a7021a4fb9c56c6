"""Job tasks and the code they call: wheel tasks' console scripts accept their parameters, notebook tasks' widgets theirs."""

from __future__ import annotations

import argparse
import importlib
import tomllib
from pathlib import Path

import pytest
from bundle_support import REPO, notebook_cells, resolve, resources

from pinterest_pipeline.cli import batch_config, stream_config

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
WHEEL_TASKS = [
    (key, task["task_key"], target)
    for key, (_, job) in resources("jobs").items()
    for task in job["tasks"]
    if "python_wheel_task" in task
    for target in ("dev", "prod", "classic")
]


def entry_point_parser(entry_point: str) -> argparse.ArgumentParser:
    """The argument parser of a console script: `build_parser()` of the module its [project.scripts] names."""
    module_name, _, function = PROJECT["scripts"][entry_point].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, function)), f"{entry_point}: {module_name}.{function} is not callable"
    return module.build_parser()


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    """The subcommand names a parser knows."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name for action in actions for name in action.choices}


def task(job_key: str, task_key: str) -> dict:
    """A task of a bundle job."""
    return next(t for t in resources("jobs")[job_key][1]["tasks"] if t["task_key"] == task_key)


def test_there_are_wheel_tasks():
    assert {(job, task) for job, task, _ in WHEEL_TASKS} == {
        ("pinterest_batch", "batch"),
        ("pinterest_stream", "stream"),
    }


@pytest.mark.parametrize("job_key, task_key, target", WHEEL_TASKS)
def test_wheel_task_entry_point_accepts_its_parameters(job_key, task_key, target):
    wheel = task(job_key, task_key)["python_wheel_task"]
    assert wheel["package_name"] == PROJECT["name"]
    assert wheel["entry_point"] in PROJECT["scripts"]
    parser = entry_point_parser(wheel["entry_point"])
    parameters = [resolve(p, target) for p in wheel["parameters"]]
    assert parameters[0] in subcommands(parser)
    args = parser.parse_args(parameters)
    assert args.command == parameters[0]
    if args.command == "batch":
        config = batch_config(args)
        assert (config.catalog, config.schema) == (
            resolve("${var.catalog}", target),
            resolve("${var.schema}", target),
        )
        assert config.lake == f"/Volumes/{config.catalog}/{config.schema}/lake"
        assert config.raw_root.startswith("s3://")
        assert args.compute == resolve("${var.batch_compute}", target)
    else:
        assert args.command == "stream"
        config = stream_config(args)
        expected = {
            "lake": "/Volumes/${var.catalog}/${var.schema}/lake",
            "stream_prefix": "${var.stream_prefix}",
            "region": "${var.region}",
            "service_credential": "${var.service_credential}",
            "catalog": "${var.catalog}",
            "schema": "${var.schema}",
        }
        assert {name: getattr(config, name) for name in expected} == {
            name: resolve(value, target) for name, value in expected.items()
        }
        # A continuous job: the queries keep running, on AWS's Kinesis.
        assert config.available_now is False and config.kinesis_endpoint is None


def test_the_check_rejects_parameters_the_parser_does_not_know():
    parser = entry_point_parser("pinterest-pipeline")
    with pytest.raises(SystemExit):
        parser.parse_args(["batch", "--raw_root", "s3://b/raw", "--lake", "/Volumes/c/s/lake"])


class Widgets:
    """dbutils.widgets as a job run sees them: the task's base_parameters override the defaults the notebook sets."""

    def __init__(self, parameters: dict[str, str]):
        self.parameters = parameters
        self.defaults: dict[str, str] = {}

    def text(self, name: str, default: str) -> None:
        """Declare a text widget."""
        self.defaults[name] = default

    def get(self, name: str) -> str:
        """A widget's value (an undeclared widget is an error, as on Databricks)."""
        if name not in self.defaults:
            raise ValueError(f"no widget {name!r}")
        return self.parameters.get(name, self.defaults[name])


class DbUtils:
    """The part of Databricks' dbutils the notebooks use."""

    def __init__(self, parameters: dict[str, str]):
        self.widgets = Widgets(parameters)


def notebook_config(path: Path, parameters: dict[str, str]) -> dict:
    """Run a notebook's cells up to the one that builds `config`, with dbutils as a job run provides it."""
    namespace = {"spark": object(), "display": print, "dbutils": DbUtils(parameters)}
    for number, cell in enumerate(notebook_cells(path), start=1):
        exec(compile(cell, f"{path.name}[cell {number}]", "exec"), namespace)  # noqa: S102 - the notebook under test
        if "config" in namespace:
            return namespace
    raise AssertionError(f"{path.name} builds no config")


def test_no_job_runs_a_notebook():
    # The notebooks are interactive front-ends; the jobs run the wheel's entry point.
    assert not [
        (key, t["task_key"])
        for key, (_, job) in resources("jobs").items()
        for t in job["tasks"]
        if "notebook_task" in t
    ]


@pytest.mark.parametrize("target", ["dev", "prod"])
def test_stream_notebook_widgets_take_the_stream_jobs_parameters(target):
    wheel = task("pinterest_stream", "stream")["python_wheel_task"]
    args = entry_point_parser(wheel["entry_point"]).parse_args(
        [resolve(p, target) for p in wheel["parameters"]]
    )
    parameters = {
        "lake": args.lake,
        "stream_prefix": args.stream_prefix,
        "region": args.region,
        "service_credential": args.service_credential,
        "kinesis_endpoint": "",
        "available_now": "false",
    }
    namespace = notebook_config(REPO / "notebooks" / "stream.py", parameters)
    assert set(parameters) == set(namespace["dbutils"].widgets.defaults), "the notebook's widgets changed"
    config = namespace["config"]
    assert (config.lake, config.stream_prefix, config.region, config.service_credential) == (
        args.lake,
        args.stream_prefix,
        args.region,
        args.service_credential,
    )
    assert config.kinesis_endpoint is None and config.available_now is False


def test_batch_notebook_widgets_take_the_batch_jobs_parameters():
    wheel = task("pinterest_batch", "batch")["python_wheel_task"]
    args = entry_point_parser(wheel["entry_point"]).parse_args(
        [resolve(p, "prod") for p in wheel["parameters"]]
    )
    parameters = {
        "raw_root": args.raw_root,
        "lake": args.lake,
        "topic_prefix": args.topic_prefix,
        "catalog": args.catalog,
        "schema": args.schema,
    }
    config = notebook_config(REPO / "notebooks" / "batch.py", parameters)["config"]
    assert (config.raw_root, config.lake, config.topic_prefix, config.catalog, config.schema) == tuple(
        parameters.values()
    )
