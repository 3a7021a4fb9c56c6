"""Helpers shared by the moto-server tests: running the CLI and taking an inventory of the account."""

from __future__ import annotations

import contextlib
import functools
import io
import json
from pathlib import Path

import boto3

from infra.provision import main

# What moto's server implements; msk, msk-connect and mwaa are covered with botocore's Stubber.
MOTO_COMPONENTS = "s3,iam,kinesis,ec2,apigateway"
BOOTSTRAP = "b-1.demo.kafka.us-east-1.amazonaws.com:9098,b-2.demo.kafka.us-east-1.amazonaws.com:9098"


@functools.cache
def client(endpoint: str, service: str):
    """A boto3 client on the moto server."""
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)


def run_cli(
    endpoint: str, tmp: Path, command: str, name: str, components: str = MOTO_COMPONENTS, **settings
) -> tuple[int, str, str]:
    """Run provision.py's main with a settings file; returns (status, stdout, stderr)."""
    config = tmp / f"{name}.json"
    config.write_text(json.dumps({"bootstrap_servers": BOOTSTRAP, "poll_interval_s": 0, **settings}))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(
            [
                command,
                "--name",
                name,
                "--endpoint-url",
                endpoint,
                "--components",
                components,
                "--config",
                str(config),
                "--outputs",
                str(tmp / f"{name}-outputs.json"),
            ]
        )
    return status, out.getvalue(), err.getvalue()


def _stream_names(kinesis) -> set[str]:
    """Every stream name, page by page: other tiers leave streams in moto's shared account (a page is 10 names
    on moto) and moto answers HasMoreStreams without a NextToken, so botocore's paginator stops after one page."""
    names: list[str] = []
    while True:
        page = kinesis.list_streams(**({"ExclusiveStartStreamName": names[-1]} if names else {}))
        names += page["StreamNames"]
        if not page["HasMoreStreams"] or not page["StreamNames"]:
            return set(names)


def inventory(endpoint: str) -> dict[str, set[str]]:
    """Every resource of the kinds provision.py manages, by kind."""
    ec2 = client(endpoint, "ec2")
    apigw = client(endpoint, "apigateway")
    instances = {
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    }
    return {
        "buckets": {b["Name"] for b in client(endpoint, "s3").list_buckets()["Buckets"]},
        "roles": {r["RoleName"] for r in client(endpoint, "iam").list_roles()["Roles"]},
        "profiles": {
            p["InstanceProfileName"]
            for p in client(endpoint, "iam").list_instance_profiles()["InstanceProfiles"]
        },
        "streams": _stream_names(client(endpoint, "kinesis")),
        "security_groups": {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]},
        "instances": instances,
        "rest_apis": {a["id"] for a in apigw.get_rest_apis()["items"]},
        "api_keys": {k["id"] for k in apigw.get_api_keys()["items"]},
        "usage_plans": {p["id"] for p in apigw.get_usage_plans()["items"]},
    }
