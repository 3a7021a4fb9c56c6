"""The sink connector settings, the REST proxy user data and the API Gateway routes and templates."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess

import pytest

from infra import apigateway, connector
from infra.config import Deployment
from infra.core import Context
from infra.ec2 import render_user_data
from pinterest_pipeline.readers import topic_glob


def _ctx(name="demo"):
    ctx = Context(Deployment(name=name), client_factory=lambda s: pytest.fail(f"no AWS call ({s})"))
    ctx.__dict__["account_id"] = "123456789012"
    return ctx


def test_sink_defaults_do_not_write_one_file_per_record():
    assert connector.SINK_FLUSH_SIZE == 500
    assert connector.SINK_ROTATE_INTERVAL_MS == 60000
    config = connector.sink_connector_config("bucket-x", "eu-west-1", "demo")
    assert config["flush.size"] == "500"
    assert config["rotate.interval.ms"] == "60000"
    assert config["timezone"] == "UTC"
    assert all(isinstance(v, str) for v in config.values())  # MSK Connect takes a string map


def test_sink_rotates_on_record_time_only_so_a_restarted_task_rewrites_the_same_files():
    config = connector.sink_connector_config("bucket-x", "eu-west-1", "demo")
    # wall-clock rotation is not deterministic: a restarted task could rewrite a file with more records
    assert "rotate.schedule.interval.ms" not in config
    # rotate.interval.ms is only applied with a TimeBasedPartitioner, on the extracted timestamp; Record (the
    # Kafka record's timestamp) is deterministic, the default Wallclock is not
    assert config["partitioner.class"] == "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
    assert config["timestamp.extractor"] == "Record"
    assert int(config["rotate.interval.ms"]) > 0 and int(config["partition.duration.ms"]) > 0
    assert config["locale"] and config["timezone"]


def test_sink_writes_the_design_storage_layout():
    config = connector.sink_connector_config("bucket-x", "eu-west-1", "demo")
    assert config["s3.bucket.name"] == "bucket-x" and config["topics.dir"] == "topics"
    assert config["format.class"] == "io.confluent.connect.s3.format.json.JsonFormat"
    # path.format is one quoted Joda literal: every record's folder is that text, and it is a folder the
    # batch job reads (it takes the partition and offset from the file name)
    path_format = config["path.format"]
    assert re.fullmatch(r"'[^']+'", path_format)
    folder = path_format.strip("'")
    key = f"s3://bucket-x/topics/demo.pin/{folder}/demo.pin+0+0000000000.json"
    assert fnmatch.fnmatch(key, topic_glob("s3://bucket-x", "demo.pin"))
    assert config["value.converter.schemas.enable"] == "false"


def test_topics_regex_selects_exactly_the_three_topics():
    pattern = re.compile(connector.topics_regex("my.app"))
    assert all(pattern.match(f"my.app.{e}") for e in ("pin", "geo", "user"))
    assert not any(pattern.match(t) for t in ("my.app.pins", "myXapp.pin", "other.pin", "my.app.pin.x"))


def test_user_data_is_valid_bash_with_every_value_filled_in():
    script = render_user_data(_ctx("acme"), "b-1.x:9098,b-2.x:9098")
    assert 'BOOTSTRAP="b-1.x:9098,b-2.x:9098"' in script
    assert "for topic in acme.pin acme.geo acme.user; do" in script
    assert "--replication-factor 2" in script and "listeners=http://0.0.0.0:8082" in script
    assert "client.sasl.mechanism=AWS_MSK_IAM" in script and "kafka-rest-start" in script
    assert "confluent-community-7.6.1.tar.gz" in script and "/archive/7.6/" in script
    if shutil.which("bash"):
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_routes_match_the_original_course():
    routes = {(r.path, r.method): r.action for r in apigateway.KINESIS_ROUTES}
    assert routes == {
        ("/streams", "GET"): "ListStreams",
        ("/streams/{stream-name}", "POST"): "CreateStream",
        ("/streams/{stream-name}", "GET"): "DescribeStream",
        ("/streams/{stream-name}", "DELETE"): "DeleteStream",
        ("/streams/{stream-name}/record", "PUT"): "PutRecord",
        ("/streams/{stream-name}/records", "PUT"): "PutRecords",
    }


@pytest.mark.parametrize("route", apigateway.KINESIS_ROUTES, ids=lambda r: r.action)
def test_mapping_templates_name_the_stream_from_the_path(route):
    template = route.mapping_template()
    if route.action == "ListStreams":  # no stream in the path: the query string's paging parameters only
        assert "stream-name" not in template and "$input.params('Limit')" in template
    else:
        assert '"StreamName": "$input.params(\'stream-name\')"' in template


def test_record_templates_encode_the_data_and_keep_the_partition_key():
    record = apigateway.KINESIS_ROUTES[4].mapping_template()
    assert "$util.base64Encode($input.json('$.Data'))" in record and "$input.path('$.PartitionKey')" in record
    records = apigateway.KINESIS_ROUTES[5].mapping_template()
    assert "#foreach($elem in $input.path('$.Records'))" in records
    assert "$.Records[$foreach.index].PartitionKey" in records and "#if($foreach.hasNext),#end" in records


def test_local_gateway_mirrors_the_sink_defaults():
    import argparse

    from pinterest_emulator.gateway import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--raw-root", "unused"])
    assert (args.flush_size, args.rotate_interval_ms) == (
        connector.SINK_FLUSH_SIZE,
        connector.SINK_ROTATE_INTERVAL_MS,
    )


def test_waiting_gives_up_with_a_clear_error():
    from infra.errors import InfraError

    ctx = Context(
        Deployment(name="demo", poll_interval_s=0, wait_timeout_s=0),
        client_factory=lambda s: pytest.fail(f"no AWS call ({s})"),
    )
    probes = []
    with pytest.raises(InfraError, match="timed out waiting for the cluster"):
        ctx.wait_until("the cluster", lambda: probes.append(1) and False)
    assert probes  # it did look before giving up
    ctx.wait_until("the cluster", lambda: True)
