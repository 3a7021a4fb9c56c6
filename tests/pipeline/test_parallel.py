"""jobs/parallel.run_parallel: results by name, every task run to its end, the first failure raised."""

from __future__ import annotations

import threading
import time

import pytest

from pinterest_pipeline.jobs.parallel import run_parallel


def test_tasks_run_at_once_and_give_their_results_by_name():
    together = threading.Barrier(3, timeout=10)  # broken (an error) unless the three tasks wait on it at once

    def task(name: str):
        def run() -> str:
            together.wait()
            return name.upper()

        return run

    assert run_parallel({"a": task("a"), "b": task("b"), "c": task("c")}) == {"a": "A", "b": "B", "c": "C"}


def test_one_task_runs_in_the_calling_thread():
    assert run_parallel({"only": lambda: threading.current_thread().name}) == {
        "only": threading.current_thread().name
    }


def test_a_failure_is_raised_after_every_task_ran_to_its_end():
    finished = []

    def slow() -> None:
        time.sleep(0.3)
        finished.append("slow")

    def broken() -> None:
        raise ValueError("broken task")

    with pytest.raises(ValueError, match="broken task"):
        run_parallel({"broken": broken, "slow": slow}, workers=2)
    assert finished == ["slow"]


def test_the_first_failure_in_the_order_given_wins():
    def fails(message: str):
        def run() -> None:
            raise RuntimeError(message)

        return run

    with pytest.raises(RuntimeError, match="first"):
        run_parallel({"one": fails("first"), "two": fails("second")})
