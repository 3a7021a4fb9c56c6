"""The batch job reads what the gateway wrote, with no adaptation: real posts in through the REST proxy
route, the gateway stopped, then `run_batch` on its raw root."""

from __future__ import annotations

import json

import pytest
from pinterest_emulator.gateway import Gateway

try:
    from . import gateway_fixtures as fx
except ImportError:
    import gateway_fixtures as fx

DRAWS = 250  # the course emulator's first draws, duplicates included


@pytest.mark.real_data
def test_batch_job_reads_the_gateway_files(spark, real_data, tmp_path):
    from pinterest_pipeline.jobs.batch import BatchConfig, run_batch

    raw, lake = tmp_path / "raw", tmp_path / "lake"
    posted = {}
    with Gateway(raw, kinesis_endpoint="http://127.0.0.1:9", flush_size=100) as gw:
        for entity in ("pin", "geo", "user"):
            lines = (
                (real_data / "seed100_first2000_draws" / f"{entity}.jsonl").read_text().splitlines()[:DRAWS]
            )
            posted[entity] = [json.loads(line) for line in lines]
            for start in range(0, DRAWS, 40):  # the course posts one record per request; batches are faster
                response = fx.produce(gw.url, f"pinterest.{entity}", posted[entity][start : start + 40])
                assert response.status_code == 200
    for entity, records in posted.items():
        assert [v for _, _, v in fx.read_topic(raw, f"pinterest.{entity}")] == records

    report = run_batch(spark, BatchConfig(raw_root=str(raw), lake=str(lake)))
    for entity, records in posted.items():
        counts = report.entities[entity]
        key = "index" if entity == "pin" else "ind"
        assert counts.files == len(fx.sink_files(raw, f"pinterest.{entity}")) == 3  # 100 + 100 + 50 at close
        assert counts.read == len(records)
        assert counts.silver_total == len({r[key] for r in records})
        assert counts.quarantined == 0
