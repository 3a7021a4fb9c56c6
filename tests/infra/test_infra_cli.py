"""Bad arguments and settings: one `provision.py <command>:` line, exit code 2, and no AWS call at all; AWS
failures: one line, 2 for missing credentials, 5 for an endpoint that cannot be reached, 1 for what AWS refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.provision import main

REPO = Path(__file__).resolve().parents[2]


def _no_aws(service):
    raise AssertionError(f"no AWS call may happen on bad input ({service})")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["plan", "--name", "Bad_Name"], "invalid --name"),
        (["plan"], "deployment name is required"),
        (["apply", "--name", "demo", "--components", "s3,ftp"], "unknown components ftp"),
        (["apply", "--name", "demo", "--region", "moon-1"], "invalid region"),
        (["apply", "--name", "demo", "--components", "mwaa"], "mwaa needs mwaa_subnet_ids"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    assert main(argv, client_factory=_no_aws) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"provision.py {argv[0]}: ") and message in err and "\n" not in err


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"colour": "red"}, "unknown settings: colour"),
        ({"kinesis_shards": "two"}, "kinesis_shards must be of type int"),
        ({"kinesis_shards": 0}, "kinesis_shards must be at least 1"),
        ({"connector_mcu_count": 3}, "connector_mcu_count must be 1, 2, 4 or 8"),
        ({"topic_partitions": 2}, "topic_partitions must be 1"),
        ({"connector_plugin_zip": "/nonexistent/plugin.zip"}, "is not a file"),
        (
            {"subnet_ids": "subnet-a,subnet-b", "poll_interval_s": True},
            "poll_interval_s must be of type float",
        ),
    ],
)
def test_bad_settings_file(tmp_path, settings, message, capsys):
    config = tmp_path / "deploy.json"
    config.write_text(json.dumps(settings))
    assert main(["apply", "--name", "demo", "--config", str(config)], client_factory=_no_aws) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("provision.py apply: ") and message in err and "\n" not in err


def test_unreadable_config_file(tmp_path, capsys):
    config = tmp_path / "deploy.toml"
    config.write_text("name = [unclosed")
    assert main(["plan", "--config", str(config)], client_factory=_no_aws) == 2
    assert "is not valid" in capsys.readouterr().err


def test_toml_settings_and_flags_override(tmp_path):
    from infra.config import make_deployment
    from infra.provision import parse_args, settings_from

    config = tmp_path / "deploy.toml"
    config.write_text(
        'name = "fromfile"\nregion = "eu-west-1"\nsubnet_ids = ["subnet-a", "subnet-b"]\n'
        "poll_interval_s = 5\n"
    )
    d = make_deployment(settings_from(parse_args(["plan", "--config", str(config), "--name", "fromflag"])))
    assert (d.name, d.region, d.subnet_ids, d.poll_interval_s) == (
        "fromflag",
        "eu-west-1",
        ("subnet-a", "subnet-b"),
        5.0,
    )
    assert "mwaa" not in d.components  # opt-in


def test_runs_as_a_script_from_any_directory(tmp_path):
    # The documented entry point: `python infra/provision.py ...`, no installation of infra/ needed.
    proc = subprocess.run(
        [sys.executable, str(REPO / "infra" / "provision.py"), "plan", "--name", "NO"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("provision.py plan: invalid --name")


def test_no_credentials_is_one_line(tmp_path, monkeypatch, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    status = main(["plan", "--name", "demo", "--components", "s3", "--endpoint-url", "http://127.0.0.1:9"])
    assert status == 2  # bad settings: nothing was called
    err = capsys.readouterr().err
    assert err.startswith("provision.py plan: AWS: Unable to locate credentials") and err.count("\n") == 1


def test_an_aws_error_is_one_line_even_when_the_server_answers_html(tmp_path, capsys):
    import boto3
    from botocore.stub import Stubber

    # A server that is not AWS (a proxy, an emulator) may answer with a whole HTML page.
    stub = Stubber(boto3.client("kinesis", region_name="us-east-1"))
    stub.add_client_error(
        "describe_stream_summary",
        "500",
        "<!doctype html>\n<html>\n<h1>Internal Server Error</h1>\n",
        http_status_code=500,
    )
    with stub:
        status = main(
            ["plan", "--name", "htmlerr", "--components", "kinesis", "--outputs", str(tmp_path / "o.json")],
            client_factory={"kinesis": stub.client}.get,
        )
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert err.startswith(
        "provision.py plan: AWS DescribeStreamSummary: 500: <!doctype html> <html> <h1>Internal"
    )


def test_an_endpoint_that_cannot_be_reached_is_an_unreachable_service(capsys):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = main(
        ["plan", "--name", "demo", "--components", "s3", "--endpoint-url", f"http://127.0.0.1:{port}"]
    )
    err = capsys.readouterr().err
    assert status == 5 and err.count("\n") == 1
    assert err.startswith(
        f'provision.py plan: AWS unreachable: Could not connect to the endpoint URL: "http://127.0.0.1:{port}/'
    )


def test_a_usage_error_is_one_line_with_exit_code_2():
    proc = subprocess.run(
        [sys.executable, str(REPO / "infra" / "provision.py"), "create", "--name", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("provision.py: argument command: invalid choice: 'create'")
