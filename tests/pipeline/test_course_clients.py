"""The original course's clients against the local gateway, end to end: invoke URLs with a stage, streams found
by listing them, the seed's `/records` body, values sent as one-element (or longer) JSON arrays. What they send
over real HTTP is what the batch and the stream job's tables hold."""

from __future__ import annotations

import uuid

import requests
from delta_tables import delta_rows
from pinterest_emulator.gateway import Gateway
from stream.records import geo, pin, user

from pinterest_pipeline.jobs.batch import BatchConfig, run_batch
from pinterest_pipeline.jobs.stream import StreamConfig, run_stream

KAFKA_JSON = {"Content-Type": "application/vnd.kafka.json.v2+json"}
EXTRA_STREAMS = 9  # with the three of the job, more than one of moto's (and the old gateway's) pages of 10


def listed_streams(stage_url: str) -> list[str]:
    """Every stream name, paged as a client of ListStreams pages: ExclusiveStartStreamName until the end."""
    names: list[str] = []
    params: dict[str, str] = {}
    while True:
        page = requests.get(f"{stage_url}/streams", params=params, timeout=30)
        assert page.status_code == 200, page.text
        body = page.json()
        names += body["StreamNames"]
        if not body["HasMoreStreams"]:
            return names
        params = {"ExclusiveStartStreamName": names[-1]}


def indexes(lake, table: str, column: str = "ind") -> list[int]:
    return sorted(row[column] for row in delta_rows(lake / table, [column]))


def test_course_clients_land_in_both_jobs_tables(spark, kinesis_endpoint, tmp_path):
    prefix = f"course{uuid.uuid4().hex[:6]}"
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    with Gateway(raw, kinesis_endpoint=kinesis_endpoint, topic_prefix=prefix) as gw:
        stage = f"{gw.url}/prod"  # an API Gateway invoke URL carries its stage
        mine = [f"{prefix}-{e}" for e in ("pin", "geo", "user")] + [
            f"{prefix}-extra{i}" for i in range(EXTRA_STREAMS)
        ]
        for name in mine:
            created = requests.post(f"{stage}/streams/{name}", json={"ShardCount": 1}, timeout=30)
            assert created.status_code == 200, created.text
        # One of the course's scripts finds its streams by listing them.
        assert set(mine) <= set(listed_streams(stage))

        # Kafka: plain objects, one-element arrays and a three-element array.
        for topic, make in (("pin", pin), ("geo", geo), ("user", user)):
            body = {
                "records": [{"value": make(1)}, {"value": [make(2)]}, {"value": [make(3), make(4), make(5)]}]
            }
            sent = requests.post(
                f"{stage}/topics/{prefix}.{topic}", json=body, headers=KAFKA_JSON, timeout=30
            )
            assert sent.status_code == 200, sent.text
            assert all(o["error_code"] is None for o in sent.json()["offsets"])

        # Kinesis: the seed's /records body (arrays inside) and PutRecord with an array as its Data.
        for entity, make in (("pin", pin), ("geo", geo), ("user", user)):
            stream = f"{prefix}-{entity}"
            seed_body = {
                "StreamName": stream,
                "records": [
                    {"data": make(11), "partition-key": "11"},
                    {"data": [make(12), make(13)], "partition-key": "12"},
                ],
            }
            many = requests.put(f"{stage}/streams/{stream}/records", json=seed_body, timeout=30)
            assert many.status_code == 200 and many.json()["FailedRecordCount"] == 0, many.text
            one = {"StreamName": stream, "Data": [make(14)], "PartitionKey": "14"}
            single = requests.put(f"{stage}/streams/{stream}/record", json=one, timeout=30)
            assert single.status_code == 200, single.text

    batch = run_batch(spark, BatchConfig(str(raw), str(lake), topic_prefix=prefix))
    for entity in ("pin", "geo", "user"):
        assert indexes(lake, f"silver/{entity}") == [1, 2, 3, 4, 5], entity
        assert delta_rows(lake / f"quarantine/{entity}") == [], entity
    assert batch is not None

    run_stream(
        spark,
        StreamConfig(str(lake), kinesis_endpoint=kinesis_endpoint, stream_prefix=prefix, available_now=True),
    )
    for entity in ("pin", "geo", "user"):
        assert indexes(lake, f"stream/{entity}") == [11, 12, 13, 14], entity
        assert delta_rows(lake / f"stream_quarantine/{entity}") == [], entity
