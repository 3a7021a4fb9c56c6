"""Job tasks and the code they call: wheel tasks' console scripts accept their parameters, notebook tasks' widgets theirs."""

from __future__ import annotations

import argparse
import importlib
import tomllib
from pathlib import Path

import pytest
from bundle_support import REPO, notebook_cells, resolve, resources

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
WHEEL_TASKS = [
    (key, task["task_key"], target)
    for key, (_, job) in resources("jobs").items()
    for task in job["tasks"]
    if "python_wheel_task" in task
    for target in ("dev", "prod")
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
    assert {(job, task) for job, task, _ in WHEEL_TASKS} == {("pinterest_batch", "batch")}


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
        from pinterest_pipeline.jobs.batch import BatchConfig

        config = BatchConfig(args.raw_root, args.lake, args.topic_prefix, args.catalog, args.schema)
        assert (config.catalog, config.schema) == (
            resolve("${var.catalog}", target),
            resolve("${var.schema}", target),
        )
        assert config.lake == f"/Volumes/{config.catalog}/{config.schema}/lake"
        assert config.raw_root.startswith("s3://")


def test_the_check_rejects_parameters_the_parser_does_not_know():
    parser = entry_point_parser("pinterest-pipeline")
    with pytest.raises(SystemExit):
        parser.parse_args(["batch", "--raw_root", "s3://b/raw", "--lake", "/Volumes/c/s/lake"])


NOTEBOOK_TASKS = [
    (key, task["task_key"], target)
    for key, (_, job) in resources("jobs").items()
    for task in job["tasks"]
    if "notebook_task" in task
    for target in ("dev", "prod")
]


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


def test_there_are_notebook_tasks():
    assert {(job, task) for job, task, _ in NOTEBOOK_TASKS} == {("pinterest_stream", "stream")}


@pytest.mark.parametrize("job_key, task_key, target", NOTEBOOK_TASKS)
def test_notebook_task_parameters_are_the_notebooks_widgets(job_key, task_key, target):
    path, _ = resources("jobs")[job_key]
    notebook = task(job_key, task_key)["notebook_task"]
    parameters = {name: resolve(str(value), target) for name, value in notebook["base_parameters"].items()}
    namespace = notebook_config(
        (REPO / path).parent.joinpath(notebook["notebook_path"]).resolve(), parameters
    )
    widgets = namespace["dbutils"].widgets
    assert set(parameters) == set(widgets.defaults), "base_parameters and the notebook's widgets differ"
    config = namespace["config"]
    assert config.lake == resolve("/Volumes/${var.catalog}/${var.schema}/lake", target)
    assert config.stream_prefix == resolve("${var.stream_prefix}", target)
    assert config.region == resolve("${var.region}", target)
    assert config.service_credential == resolve("${var.service_credential}", target)
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
