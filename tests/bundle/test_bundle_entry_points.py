"""Every wheel task names a console script of pyproject.toml, and that script's parser accepts its parameters."""

from __future__ import annotations

import argparse
import importlib
import tomllib

import pytest

from bundle_support import REPO, resolve, resources

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
    assert {(job, task) for job, task, _ in WHEEL_TASKS} == {("pinterest_batch", "batch"), ("pinterest_stream", "stream")}


@pytest.mark.parametrize("job_key, task_key, target", WHEEL_TASKS)
def test_wheel_task_entry_point_accepts_its_parameters(job_key, task_key, target):
    wheel = task(job_key, task_key)["python_wheel_task"]
    assert wheel["package_name"] == PROJECT["name"]
    assert wheel["entry_point"] in PROJECT["scripts"]
    parser = entry_point_parser(wheel["entry_point"])
    parameters = [resolve(p, target) for p in wheel["parameters"]]
    if parameters[0] not in subcommands(parser) and parameters[0] == "stream":
        pytest.skip("the CLI has no `stream` subcommand yet (issue of the streaming job)")
    args = parser.parse_args(parameters)
    assert args.command == parameters[0]
    if args.command == "batch":
        from pinterest_pipeline.jobs.batch import BatchConfig

        config = BatchConfig(args.raw_root, args.lake, args.topic_prefix, args.catalog, args.schema)
        assert (config.catalog, config.schema) == (resolve("${var.catalog}", target), resolve("${var.schema}", target))
        assert config.lake == f"/Volumes/{config.catalog}/{config.schema}/lake"
        assert config.raw_root.startswith("s3://")
    if args.command == "stream":
        assert args.lake == resolve("/Volumes/${var.catalog}/${var.schema}/lake", target)
        assert args.stream_prefix == resolve("${var.stream_prefix}", target)


def test_the_check_rejects_parameters_the_parser_does_not_know():
    parser = entry_point_parser("pinterest-pipeline")
    with pytest.raises(SystemExit):
        parser.parse_args(["batch", "--raw_root", "s3://b/raw", "--lake", "/Volumes/c/s/lake"])
