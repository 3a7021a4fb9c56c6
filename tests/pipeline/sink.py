"""Writing files exactly as Kafka Connect's S3 sink lays them out, for tests."""

from __future__ import annotations

import json
from pathlib import Path


def sink_file(
    raw_root: Path, topic: str, partition: int, start_offset: int, records: list, newline_at_end: bool = True
) -> Path:
    """Write one sink file: `topics/<topic>/partition=<p>/<topic>+<p>+<offset:010d>.json`, a JSON value per line."""
    folder = raw_root / "topics" / topic / f"partition={partition}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{topic}+{partition}+{start_offset:010d}.json"
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
    return path


def sink_files(
    raw_root: Path, topic: str, records: list, flush_size: int, partition: int = 0, first_offset: int = 0
) -> list[Path]:
    """Write records as the sink would with `flush.size` records per file."""
    return [
        sink_file(raw_root, topic, partition, first_offset + start, records[start : start + flush_size])
        for start in range(0, len(records), flush_size)
    ]
