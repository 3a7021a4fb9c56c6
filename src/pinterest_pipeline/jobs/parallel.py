"""Independent Spark jobs from a few driver threads, as both jobs run them.

Spark schedules jobs submitted from several driver threads at once: their fixed costs (planning, a Delta commit)
and their stragglers overlap. Delta commits to different tables do not conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_parallel(tasks: dict[str, Callable[[], T]], workers: int | None = None) -> dict[str, T]:
    """Run the named callables from at most `workers` threads (one each by default); their results by name.

    Every task runs to its end, then the first failure (in the order given) is raised. One task runs in the
    calling thread."""
    if len(tasks) <= 1:
        return {name: task() for name, task in tasks.items()}
    with ThreadPoolExecutor(max_workers=workers or len(tasks), thread_name_prefix="spark-job") as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        return {name: future.result() for name, future in futures.items()}
