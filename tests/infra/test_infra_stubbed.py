"""MSK, MSK Connect and MWAA (which moto lacks, as it lacks get_bootstrap_brokers), checked with botocore's
Stubber against the real API models; the services moto has (S3, IAM, EC2, SSM, STS) stay on moto's server."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from infra_moto_helpers import client

from infra.provision import main

ACCOUNT = "123456789012"
STUBBED = ("kafka", "kafkaconnect", "mwaa")


@pytest.fixture
def stubs():
    """A stubbed client per service moto does not implement; every queued response must be used."""
    result = {}
    for service in STUBBED:
        c = boto3.client(service, region_name="us-east-1")
        result[service] = Stubber(c)
        result[service].activate()
    yield result
    for stub in result.values():
        stub.deactivate()


def _run(endpoint, stubs, tmp, command, name, components, **settings):
    config = tmp / "settings.json"
    config.write_text(json.dumps({"poll_interval_s": 0, **settings}))

    def factory(service):
        return stubs[service].client if service in stubs else client(endpoint, service)

    return main(
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
            str(tmp / "outputs.json"),
        ],
        client_factory=factory,
    )


# --- MSK and get_bootstrap_brokers --------------------------------------------------------------------


def _cluster_list(stub, name, arn, state=None):
    info = (
        []
        if state is None
        else [
            {
                "ClusterArn": arn,
                "ClusterName": f"{name}-msk",
                "State": state,
                "Tags": {"deployment": name, "project": "pinterest-pipeline"},
            }
        ]
    )
    stub.add_response("list_clusters", {"ClusterInfoList": info}, {"ClusterNameFilter": f"{name}-msk"})


def test_msk_cluster_and_rest_proxy_host(moto_endpoint, stubs, tmp_path):
    name = "streamy"
    arn = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/{name}-msk/0b7d-1"
    brokers = "b-1.streamy-msk.abc.kafka.us-east-1.amazonaws.com:9098,b-2.streamy-msk.abc.kafka.us-east-1.amazonaws.com:9098"
    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "iam") == 0
    kafka = stubs["kafka"]
    _cluster_list(kafka, name, arn)  # survey: no cluster yet
    kafka.add_response(
        "create_cluster",
        {"ClusterArn": arn, "ClusterName": f"{name}-msk", "State": "CREATING"},
        {
            "ClusterName": f"{name}-msk",
            "KafkaVersion": "3.6.0",
            "NumberOfBrokerNodes": 2,
            "BrokerNodeGroupInfo": {
                "InstanceType": "kafka.t3.small",
                "ClientSubnets": [ANY, ANY],
                "SecurityGroups": [ANY],
                "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
            },
            "ClientAuthentication": {
                "Sasl": {"Iam": {"Enabled": True}},
                "Unauthenticated": {"Enabled": False},
            },
            "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
            "Tags": {"deployment": name, "project": "pinterest-pipeline"},
        },
    )
    for state in ("CREATING", "ACTIVE", "ACTIVE"):  # two polls, then the find after creation
        _cluster_list(kafka, name, arn, state)
    for _ in range(2):  # the cluster's outputs, then the host's user data
        _cluster_list(kafka, name, arn, "ACTIVE")
        kafka.add_response(
            "get_bootstrap_brokers", {"BootstrapBrokerStringSaslIam": brokers}, {"ClusterArn": arn}
        )

    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "msk,ec2") == 0
    kafka.assert_no_pending_responses()
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["msk_cluster_arn"] == arn and outputs["bootstrap_servers"] == brokers

    ec2 = client(moto_endpoint, "ec2")
    (reservation,) = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"{name}-rest-proxy"]}])[
        "Reservations"
    ]
    instance_id = reservation["Instances"][0]["InstanceId"]
    user_data = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"][
        "Value"
    ]
    assert f'BOOTSTRAP="{brokers}"' in base64.b64decode(user_data).decode()

    # destroy: host first (moto), then the cluster, waiting until MSK no longer lists it
    _cluster_list(kafka, name, arn, "ACTIVE")
    kafka.add_response("delete_cluster", {"ClusterArn": arn, "State": "DELETING"}, {"ClusterArn": arn})
    _cluster_list(kafka, name, arn, "DELETING")
    _cluster_list(kafka, name, arn)
    assert _run(moto_endpoint, stubs, tmp_path, "destroy", name, "msk,ec2,iam") == 0
    kafka.assert_no_pending_responses()
    assert (
        ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{name}-sg"]}])[
            "SecurityGroups"
        ]
        == []
    )


def test_cluster_that_is_not_ours_is_not_adopted(moto_endpoint, stubs, tmp_path, capsys):
    kafka = stubs["kafka"]
    kafka.add_response(
        "list_clusters",
        {
            "ClusterInfoList": [
                {
                    "ClusterArn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/other-msk/1",
                    "ClusterName": "other-msk",
                    "State": "ACTIVE",
                    "Tags": {"deployment": "someone-else"},
                }
            ]
        },
        {"ClusterNameFilter": "other-msk"},
    )
    assert _run(moto_endpoint, stubs, tmp_path, "apply", "other", "msk") == 1
    assert "msk cluster other-msk exists but is not tagged deployment=other" in capsys.readouterr().err
    kafka.assert_no_pending_responses()


# --- MSK Connect ----------------------------------------------------------------------------------------


def _plugins(stub, name, arn, state=None):
    listed = (
        []
        if state is None
        else [
            {
                "customPluginArn": arn,
                "customPluginState": state,
                "name": name,
                "latestRevision": {"revision": 1},
            }
        ]
    )
    stub.add_response("list_custom_plugins", {"customPlugins": listed}, {"namePrefix": name})
    if listed:
        stub.add_response(
            "list_tags_for_resource",
            {"tags": {"deployment": name.removesuffix("-s3-sink")}},
            {"resourceArn": arn},
        )


def _connectors(stub, name, arn, state=None):
    listed = [] if state is None else [{"connectorArn": arn, "connectorName": name, "connectorState": state}]
    stub.add_response("list_connectors", {"connectors": listed}, {"connectorNamePrefix": name})
    if listed:
        stub.add_response(
            "list_tags_for_resource",
            {"tags": {"deployment": name.removesuffix("-s3-sink")}},
            {"resourceArn": arn},
        )


def test_msk_connect_plugin_and_s3_sink_connector(moto_endpoint, stubs, tmp_path):
    name, sink = "sinky", "sinky-s3-sink"
    bucket = f"{name}-{ACCOUNT}-raw"
    brokers = "b-1.sinky:9098,b-2.sinky:9098"
    plugin_arn = f"arn:aws:kafkaconnect:us-east-1:{ACCOUNT}:custom-plugin/{sink}/1"
    conn_arn = f"arn:aws:kafkaconnect:us-east-1:{ACCOUNT}:connector/{sink}/1"
    zip_path = tmp_path / "confluentinc-kafka-connect-s3-10.5.13.zip"
    zip_path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive stands in for the plugin
    settings = {"bootstrap_servers": brokers, "connector_plugin_zip": str(zip_path)}
    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "s3,iam", **settings) == 0

    kc = stubs["kafkaconnect"]
    _plugins(kc, sink, plugin_arn)
    _connectors(kc, sink, conn_arn)
    kc.add_response(
        "create_custom_plugin",
        {"customPluginArn": plugin_arn, "customPluginState": "CREATING"},
        {
            "name": sink,
            "contentType": "ZIP",
            "description": "Confluent S3 sink connector",
            "location": {
                "s3Location": {"bucketArn": f"arn:aws:s3:::{bucket}", "fileKey": f"plugins/{zip_path.name}"}
            },
            "tags": {"deployment": name, "project": "pinterest-pipeline"},
        },
    )
    for state in ("CREATING", "ACTIVE", "ACTIVE", "ACTIVE"):  # 2 polls, find after create, connector's lookup
        _plugins(kc, sink, plugin_arn, state)
    kc.add_response(
        "create_connector",
        {"connectorArn": conn_arn, "connectorName": sink, "connectorState": "CREATING"},
        {
            "connectorName": sink,
            "connectorDescription": f"{name}: topics to S3",
            "capacity": {"provisionedCapacity": {"mcuCount": 1, "workerCount": 1}},
            "connectorConfiguration": {
                "connector.class": "io.confluent.connect.s3.S3SinkConnector",
                "tasks.max": "3",
                "topics.regex": "^sinky\\.(pin|geo|user)$",
                "s3.region": "us-east-1",
                "s3.bucket.name": bucket,
                "topics.dir": "topics",
                "storage.class": "io.confluent.connect.s3.storage.S3Storage",
                "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
                "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
                "path.format": "'partition=0'",
                "partition.duration.ms": "86400000",
                "locale": "en-US",
                "timezone": "UTC",
                "timestamp.extractor": "Record",
                "schema.compatibility": "NONE",
                "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
                "flush.size": "500",
                "rotate.interval.ms": "60000",
            },
            "kafkaCluster": {
                "apacheKafkaCluster": {
                    "bootstrapServers": brokers,
                    "vpc": {"subnets": [ANY, ANY], "securityGroups": [ANY]},
                }
            },
            "kafkaClusterClientAuthentication": {"authenticationType": "IAM"},
            "kafkaClusterEncryptionInTransit": {"encryptionType": "TLS"},
            "kafkaConnectVersion": "2.7.1",
            "plugins": [{"customPlugin": {"customPluginArn": plugin_arn, "revision": 1}}],
            "serviceExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-msk-connect",
            "tags": {"deployment": name, "project": "pinterest-pipeline"},
        },
    )
    for state in ("CREATING", "RUNNING", "RUNNING"):
        _connectors(kc, sink, conn_arn, state)

    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "msk-connect", **settings) == 0
    kc.assert_no_pending_responses()
    assert json.loads((tmp_path / "outputs.json").read_text())["connector_arn"] == conn_arn
    head = client(moto_endpoint, "s3").head_object(Bucket=bucket, Key=f"plugins/{zip_path.name}")
    assert head["ContentLength"] == zip_path.stat().st_size

    # re-apply: both exist, nothing is created
    _plugins(kc, sink, plugin_arn, "ACTIVE")
    _connectors(kc, sink, conn_arn, "RUNNING")
    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "msk-connect", **settings) == 0
    kc.assert_no_pending_responses()

    # destroy: connector, then plugin, each waited for
    _connectors(kc, sink, conn_arn, "RUNNING")
    kc.add_response(
        "delete_connector",
        {"connectorArn": conn_arn, "connectorState": "DELETING"},
        {"connectorArn": conn_arn},
    )
    _connectors(kc, sink, conn_arn)
    _plugins(kc, sink, plugin_arn, "ACTIVE")
    kc.add_response(
        "delete_custom_plugin",
        {"customPluginArn": plugin_arn, "customPluginState": "DELETING"},
        {"customPluginArn": plugin_arn},
    )
    _plugins(kc, sink, plugin_arn)
    assert _run(moto_endpoint, stubs, tmp_path, "destroy", name, "msk-connect,iam,s3", **settings) == 0
    kc.assert_no_pending_responses()


def test_msk_connect_without_plugin_zip_fails_before_any_change(moto_endpoint, stubs, tmp_path, capsys):
    kc = stubs["kafkaconnect"]
    _plugins(kc, "nozip-s3-sink", "arn:aws:kafkaconnect:us-east-1:1:custom-plugin/x/1")
    _connectors(kc, "nozip-s3-sink", "arn:aws:kafkaconnect:us-east-1:1:connector/x/1")
    assert (
        _run(moto_endpoint, stubs, tmp_path, "apply", "nozip", "msk-connect", bootstrap_servers="b:9098") == 2
    )
    assert capsys.readouterr().err.startswith("provision.py apply: msk-connect needs connector_plugin_zip")
    kc.assert_no_pending_responses()
    ec2 = client(moto_endpoint, "ec2")
    assert (
        ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["nozip-sg"]}])[
            "SecurityGroups"
        ]
        == []
    )


# --- MWAA -----------------------------------------------------------------------------------------------


def _environment(stub, name, status=None):
    if status is None:
        stub.add_client_error(
            "get_environment",
            "ResourceNotFoundException",
            http_status_code=404,
            expected_params={"Name": f"{name}-airflow"},
        )
        return
    stub.add_response(
        "get_environment",
        {
            "Environment": {
                "Name": f"{name}-airflow",
                "Arn": f"arn:aws:airflow:us-east-1:{ACCOUNT}:environment/{name}-airflow",
                "Status": status,
                "WebserverUrl": "abc.airflow.us-east-1.on.aws",
                "Tags": {"deployment": name, "project": "pinterest-pipeline"},
            }
        },
        {"Name": f"{name}-airflow"},
    )


def test_mwaa_environment_with_versioned_dag_bucket(moto_endpoint, stubs, tmp_path):
    name = "flowy"
    subnets = [s["SubnetId"] for s in client(moto_endpoint, "ec2").describe_subnets()["Subnets"][:2]]
    mwaa = stubs["mwaa"]
    _environment(mwaa, name)
    mwaa.add_response(
        "create_environment",
        {"Arn": f"arn:aws:airflow:us-east-1:{ACCOUNT}:environment/x"},
        {
            "Name": f"{name}-airflow",
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-mwaa",
            "SourceBucketArn": f"arn:aws:s3:::airflow-{name}-{ACCOUNT}",
            "DagS3Path": "dags",
            "NetworkConfiguration": {"SubnetIds": subnets, "SecurityGroupIds": [ANY]},
            "EnvironmentClass": "mw1.small",
            "MaxWorkers": 1,
            "MinWorkers": 1,
            "AirflowVersion": "3.0.6",
            "WebserverAccessMode": "PUBLIC_ONLY",
            "Tags": {"deployment": name, "project": "pinterest-pipeline"},
        },
    )
    for status in ("CREATING", "AVAILABLE", "AVAILABLE"):
        _environment(mwaa, name, status)

    assert _run(moto_endpoint, stubs, tmp_path, "apply", name, "iam,mwaa", mwaa_subnet_ids=subnets) == 0
    mwaa.assert_no_pending_responses()
    s3, iam = client(moto_endpoint, "s3"), client(moto_endpoint, "iam")
    assert s3.get_bucket_versioning(Bucket=f"airflow-{name}-{ACCOUNT}")["Status"] == "Enabled"
    trust = iam.get_role(RoleName=f"{name}-mwaa")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"]["Service"] == [
        "airflow.amazonaws.com",
        "airflow-env.amazonaws.com",
    ]
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert (
        outputs["mwaa_environment"] == f"{name}-airflow"
        and outputs["dag_bucket"] == f"airflow-{name}-{ACCOUNT}"
    )
    (group,) = client(moto_endpoint, "ec2").describe_security_groups(
        GroupIds=[outputs["mwaa_security_group_id"]]
    )["SecurityGroups"]
    assert group["GroupName"] == f"{name}-mwaa-sg"
    assert [
        (p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in group["IpPermissions"]
    ] == [("-1", [group["GroupId"]])]

    _environment(mwaa, name, "AVAILABLE")
    mwaa.add_response("delete_environment", {}, {"Name": f"{name}-airflow"})
    _environment(mwaa, name, "DELETING")
    _environment(mwaa, name)
    assert _run(moto_endpoint, stubs, tmp_path, "destroy", name, "iam,mwaa", mwaa_subnet_ids=subnets) == 0
    mwaa.assert_no_pending_responses()
    assert f"airflow-{name}-{ACCOUNT}" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert f"{name}-mwaa" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert (
        client(moto_endpoint, "ec2").describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [f"{name}-mwaa-sg"]}]
        )["SecurityGroups"]
        == []
    )


# --- the shared security group ------------------------------------------------------------------------------


@pytest.mark.parametrize("components,waits", [(("msk", "ec2", "msk-connect"), True), (("ec2",), False)])
def test_security_group_waits_for_interfaces_only_when_all_its_users_go(components, waits):
    from infra.config import Deployment
    from infra.core import Context, Found
    from infra.network import SecurityGroup

    ec2 = Stubber(boto3.client("ec2", region_name="us-east-1"))
    ctx = Context(
        Deployment(name="sgs", components=components, poll_interval_s=0),
        {"ec2": ec2.client}.get,
        log=lambda line: None,
    )
    ec2.add_client_error("delete_security_group", "DependencyViolation", expected_params={"GroupId": "sg-1"})
    if waits:  # an MSK network interface is still being released, then the group goes
        ec2.add_client_error(
            "delete_security_group", "DependencyViolation", expected_params={"GroupId": "sg-1"}
        )
        ec2.add_response("delete_security_group", {}, {"GroupId": "sg-1"})
    with ec2:
        assert SecurityGroup(ctx).delete(Found("sg-1", owned=True)) is waits
        ec2.assert_no_pending_responses()
