"""Deployment settings: names derived from the deployment name, sizes, and their validation."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from infra.errors import ConfigError
from pinterest_pipeline import names
from pinterest_pipeline.names import ENTITIES

ALL_COMPONENTS = ("s3", "iam", "kinesis", "apigateway", "msk", "ec2", "msk-connect", "mwaa")
# MWAA costs more than everything else together, so it is opt-in.
DEFAULT_COMPONENTS = tuple(c for c in ALL_COMPONENTS if c != "mwaa")

# Bucket names are the tightest constraint: lowercase letters, digits and hyphens, and room for suffixes.
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass(frozen=True)
class Deployment:
    """One deployment of the AWS side; every name derives from `name` unless overridden."""

    name: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    components: tuple[str, ...] = DEFAULT_COMPONENTS
    outputs: str | None = None
    bucket: str | None = None
    # Kinesis: provisioned single shards cost far less than on-demand at the emulator's volume.
    kinesis_shards: int = 1
    # API Gateway
    stage: str = "prod"
    throttle_rate: float = 50.0
    throttle_burst: int = 100
    # Network: default VPC subnets unless given; MSK needs subnets in distinct availability zones.
    subnet_ids: tuple[str, ...] = ()
    ssh_cidr: str | None = None
    # MSK
    kafka_version: str = "3.6.0"
    broker_instance_type: str = "kafka.t3.small"
    broker_volume_gib: int = 10
    topic_partitions: int = 1
    bootstrap_servers: str | None = None  # an existing cluster's SASL/IAM brokers; skips the msk lookup
    # EC2 REST proxy host
    instance_type: str = "t3.micro"
    ami_id: str | None = None
    ami_parameter: str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    key_name: str | None = None
    confluent_version: str = "7.6.1"
    kafka_client_version: str = "3.6.2"
    msk_iam_auth_version: str = "2.2.0"
    rest_proxy_port: int = 8082
    # MSK Connect
    connector_plugin_zip: str | None = None
    connector_mcu_count: int = 1
    connector_workers: int = 1
    kafka_connect_version: str = "2.7.1"
    # MWAA
    mwaa_subnet_ids: tuple[str, ...] = ()
    mwaa_environment_class: str = "mw1.small"
    airflow_version: str = "3.0.6"  # the DAG uses airflow.sdk (Airflow 3)
    # Polling of slow resources (MSK ~25 min, MWAA ~30 min); tests set the interval to 0.
    poll_interval_s: float = 30.0
    wait_timeout_s: float = 3600.0
    extra_tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ConfigError(
                f"invalid --name {self.name!r}: 3-32 chars, lowercase letters, digits and hyphens, "
                "starting with a letter"
            )
        if not _REGION_RE.match(self.region):
            raise ConfigError(f"invalid region {self.region!r}")
        unknown = [c for c in self.components if c not in ALL_COMPONENTS]
        if unknown or not self.components:
            raise ConfigError(
                f"unknown components {','.join(unknown) or '(none)'}; choose from {','.join(ALL_COMPONENTS)}"
            )
        for key in (
            "kinesis_shards",
            "broker_volume_gib",
            "topic_partitions",
            "connector_mcu_count",
            "connector_workers",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1")
        if self.topic_partitions != 1:
            # The S3 sink's record-time rotation needs a TimeBasedPartitioner, whose folder is a literal here:
            # the raw layout's partition=<p> holds only for one partition (infra/connector.py).
            raise ConfigError(
                "topic_partitions must be 1: the S3 sink writes every topic to one partition=0 folder"
            )
        if self.connector_mcu_count not in (1, 2, 4, 8):
            raise ConfigError("connector_mcu_count must be 1, 2, 4 or 8")
        if self.connector_plugin_zip and not Path(self.connector_plugin_zip).is_file():
            raise ConfigError(f"connector_plugin_zip {self.connector_plugin_zip} is not a file")
        if "mwaa" in self.components and len(self.mwaa_subnet_ids) != 2:
            raise ConfigError("mwaa needs mwaa_subnet_ids: exactly two private subnets with NAT egress")

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every resource; `deployment` is what destroy checks before deleting anything."""
        return {**self.extra_tags, "deployment": self.name, "project": "pinterest-pipeline"}

    @property
    def topic_prefix(self) -> str:
        """Kafka topic prefix (topics are `<prefix>.<entity>`)."""
        return self.name

    @property
    def topics(self) -> dict[str, str]:
        """Kafka topic per entity."""
        return {e: names.topic(self.name, e) for e in ENTITIES}

    @property
    def streams(self) -> dict[str, str]:
        """Kinesis stream per entity."""
        return {e: names.stream(self.name, e) for e in ENTITIES}

    def resource_name(self, suffix: str) -> str:
        """Name of a named resource of this deployment."""
        return f"{self.name}-{suffix}"


_TUPLE_KEYS = {"components", "subnet_ids", "mwaa_subnet_ids"}


def load_config_file(path: str) -> dict:
    """Read deployment settings from a .toml or .json file (keys are Deployment field names)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        data = tomllib.loads(p.read_text()) if p.suffix == ".toml" else json.loads(p.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table/object of settings")
    return data


def make_deployment(settings: dict) -> Deployment:
    """Build a Deployment from a dict of settings, rejecting unknown keys and wrong types."""
    known = {f.name: f for f in fields(Deployment)}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    values = {}
    for key, value in settings.items():
        if key in _TUPLE_KEYS:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{key} must be a list of strings")
            value = tuple(value)
        elif key == "extra_tags":
            if not isinstance(value, dict):
                raise ConfigError("extra_tags must be a table of strings")
        else:
            # Annotations are strings here (postponed evaluation): "int", "float", "str", "str | None".
            expected = {"int": int, "float": float}.get(known[key].type, str)
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(f"{key} must be of type {expected.__name__}")
        values[key] = value
    if "name" not in values:
        raise ConfigError("a deployment name is required (--name)")
    return Deployment(**values)
