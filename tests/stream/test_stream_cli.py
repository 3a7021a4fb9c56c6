"""`pinterest-pipeline stream`: one-line errors and an exit code before anything is written."""

from __future__ import annotations

from pinterest_pipeline.cli import main


def test_bad_prefix_is_a_configuration_error(tmp_path, capsys):
    assert main(["stream", "--lake", str(tmp_path / "lake"), "--stream-prefix", "a b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pinterest-pipeline stream: invalid stream prefix") and "\n" not in err
    assert not (tmp_path / "lake").exists()


def test_missing_streams_fail_before_spark_starts(tmp_path, capsys, kinesis_endpoint):
    code = main(
        [
            "stream",
            "--lake",
            str(tmp_path / "lake"),
            "--kinesis-endpoint",
            kinesis_endpoint,
            "--stream-prefix",
            "nowhere",
            "--available-now",
        ]
    )
    assert code == 3
    assert (
        capsys.readouterr().err.strip() == "pinterest-pipeline stream: Kinesis stream 'nowhere-pin' not found"
    )
    assert not (tmp_path / "lake").exists()


def test_endpoint_must_be_a_url(tmp_path, capsys):
    assert main(["stream", "--lake", str(tmp_path / "lake"), "--kinesis-endpoint", "localhost:4566"]) == 2
    assert "the Kinesis endpoint must be an http(s) URL" in capsys.readouterr().err


def test_an_endpoint_that_cannot_be_reached_is_an_unreachable_service(tmp_path, capsys):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    assert main(["stream", "--lake", str(tmp_path / "lake"), "--kinesis-endpoint", endpoint]) == 5
    err = capsys.readouterr().err
    assert (
        err.startswith("pinterest-pipeline stream: Kinesis endpoint unreachable: ") and err.count("\n") == 1
    )
    assert not (tmp_path / "lake").exists()


def test_kinesis_options_by_their_documented_names(tmp_path):
    from pinterest_pipeline.jobs.stream import StreamConfig, kinesis_source_options
    from pinterest_pipeline.kinesis_source import FORMAT

    config = StreamConfig(
        lake=str(tmp_path),
        region="eu-west-1",
        service_credential="kinesis-cred",
        max_records_per_trigger=50_000,
    )
    # Databricks' kinesis source (https://docs.databricks.com/aws/en/connect/streaming/kinesis): maxRecordsPerFetch
    # is capped at GetRecords' 10,000.
    assert kinesis_source_options(config, databricks=True) == (
        "kinesis",
        {
            "streamName": "pinterest-pin,pinterest-geo,pinterest-user",
            "region": "eu-west-1",
            "initialPosition": "trim_horizon",
            "serviceCredential": "kinesis-cred",
            "maxRecordsPerFetch": "10000",
        },
    )
    local = StreamConfig(
        lake=str(tmp_path), kinesis_endpoint="http://127.0.0.1:5000", max_records_per_trigger=7
    )
    assert kinesis_source_options(local, databricks=False) == (
        FORMAT,
        {
            "streamName": "pinterest-pin,pinterest-geo,pinterest-user",
            "region": "us-east-1",
            "initialPosition": "trim_horizon",
            "endpointUrl": "http://127.0.0.1:5000",
            "maxRecordsPerTrigger": "7",
        },
    )
