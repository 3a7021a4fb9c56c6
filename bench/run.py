"""`make bench`: run every benchmark in bench/ and assemble BENCHMARKS.md from their result fragments.

Each `bench/bench_<name>.py` measures one part beside a reference in the same run and writes
`bench/results/<name>.md`. A benchmark that fails keeps its previous fragment, marked as not refreshed.
Options: `--only batch,gateway` to run a subset; `--assemble` to rebuild BENCHMARKS.md without running anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ORDER = ["batch", "gateway", "post", "stream"]  # the order of sections in BENCHMARKS.md

HEADER = """# Benchmarks

Measured by `make bench` (`bench/run.py`), which runs every `bench/bench_*.py` and collects their results here.
These machines are shared and noisy: every figure comes with a reference measured beside it in the same run, and
the ratio is the number to read; absolute times are for scale only.
"""


def _benchmarks() -> list[str]:
    names = sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
    return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


def assemble(failed: set[str]) -> str:
    """BENCHMARKS.md from the fragments in bench/results/."""
    parts = [
        HEADER,
        (
            f"Last assembled {dt.date.today().isoformat()} on {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}, Python {platform.python_version()}."
        ),
        "",
    ]
    for name in _benchmarks():
        fragment = BENCH / "results" / f"{name}.md"
        if not fragment.exists():
            parts.append(f"## {name}\n\nNot measured yet: run `make bench`.\n")
            continue
        if name in failed:
            parts.append(
                f"> The `{name}` benchmark failed in the last run; the figures below are from an earlier run.\n"
            )
        parts.append(fragment.read_text(encoding="utf-8").rstrip() + "\n")
        # A benchmark's other tables (bench_batch.py --daily writes batch_daily.md), each from its own last run.
        for extra in sorted((BENCH / "results").glob(f"{name}_*.md")):
            parts.append(extra.read_text(encoding="utf-8").rstrip() + "\n")
    return "\n".join(parts)


def main() -> int:
    """Run the benchmarks, then write BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--assemble", action="store_true", help="only rebuild BENCHMARKS.md")
    args = parser.parse_args()
    names = _benchmarks() if not args.only else args.only.split(",")
    failed: set[str] = set()
    if not args.assemble:
        for name in names:
            print(f"== bench {name}", flush=True)
            if (
                subprocess.run(
                    [sys.executable, str(BENCH / f"bench_{name}.py")], cwd=REPO, check=False
                ).returncode
                != 0
            ):
                failed.add(name)
    (REPO / "BENCHMARKS.md").write_text(assemble(failed), encoding="utf-8")
    print(f"BENCHMARKS.md written{'; failed: ' + ', '.join(sorted(failed)) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
