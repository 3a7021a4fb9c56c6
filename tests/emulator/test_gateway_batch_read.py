"""The batch job reads what the gateway wrote, with no adaptation: real posts in through the REST proxy
route, the gateway stopped, then the batch job's own reading stage (its file stream source and line split) on
the raw root.

(The whole batch job on a sink layout is covered by the pipeline's tests; here the point is the file contract,
so only the job's reading stage runs, which keeps this test short.)
"""

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
def test_batch_reader_reads_the_gateway_files(spark, real_data, tmp_path):
    from pyspark.sql import functions as F

    from pinterest_pipeline.readers import new_files_stream, normalize_raw_root, split_records

    raw = tmp_path / "raw"
    posted, acked = {}, {}
    with Gateway(raw, kinesis_endpoint="http://127.0.0.1:9", flush_size=100) as gw:
        for entity in ("pin", "geo", "user"):
            path = real_data / "seed100_first2000_draws" / f"{entity}.jsonl"
            posted[entity] = [json.loads(line) for line in path.read_text().splitlines()[:DRAWS]]
            acked[entity] = []
            for start in range(0, DRAWS, 40):
                response = fx.produce(gw.url, f"pinterest.{entity}", posted[entity][start : start + 40])
                assert response.status_code == 200
                acked[entity] += [(o["partition"], o["offset"]) for o in response.json()["offsets"]]

    raw_root = normalize_raw_root(str(raw))
    for entity, records in posted.items():
        topic = f"pinterest.{entity}"
        assert len(fx.sink_files(raw, topic)) == 3  # 100 + 100 + 50 published at shutdown
        query = (
            split_records(new_files_stream(spark, raw_root, topic), topic, F.current_timestamp())
            .writeStream.format("memory")
            .queryName(f"gateway_{entity}")
            .option("checkpointLocation", str(tmp_path / "checkpoints" / entity))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination()
        rows = spark.table(f"gateway_{entity}").orderBy("offset").collect()
        assert [(r["partition"], r["offset"]) for r in rows] == acked[entity]
        assert [json.loads(r["value"]) for r in rows] == records
