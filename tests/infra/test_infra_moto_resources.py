"""What apply leaves in moto's server: every resource configured and tagged as the issue asks."""

from __future__ import annotations

import base64
import json

import pytest
from infra_moto_helpers import BOOTSTRAP, client, run_cli

from infra import apigateway, policies
from infra.config import Deployment
from infra.core import Context

NAME = "inspect"
BUCKET = f"{NAME}-123456789012-raw"
TAG = {"Key": "deployment", "Value": NAME}


@pytest.fixture(scope="module")
def applied(moto_endpoint, tmp_path_factory):
    """One applied deployment (with an SSH rule), its outputs and its console output."""
    tmp = tmp_path_factory.mktemp("inspect")
    status, out, err = run_cli(moto_endpoint, tmp, "apply", NAME, ssh_cidr="203.0.113.0/24")
    assert status == 0, err
    outputs_text = (tmp / f"{NAME}-outputs.json").read_text()
    return {"outputs": json.loads(outputs_text), "outputs_text": outputs_text, "stdout": out}


def test_bucket_is_private_encrypted_and_tagged(moto_endpoint, applied):
    s3 = client(moto_endpoint, "s3")
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert TAG in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]


def test_roles_carry_the_generated_least_privilege_policies(moto_endpoint, applied):
    iam = client(moto_endpoint, "iam")
    ctx = Context(Deployment(name=NAME), client_factory=lambda s: client(moto_endpoint, s))
    for purpose, service in (
        ("rest-proxy", "ec2"),
        ("msk-connect", "kafkaconnect"),
        ("apigw-kinesis", "apigateway"),
    ):
        role = iam.get_role(RoleName=f"{NAME}-{purpose}")["Role"]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": [f"{service}.amazonaws.com"]
        }
        assert TAG in iam.list_role_tags(RoleName=f"{NAME}-{purpose}")["Tags"]
        assert iam.list_attached_role_policies(RoleName=f"{NAME}-{purpose}")["AttachedPolicies"] == []
        document = iam.get_role_policy(RoleName=f"{NAME}-{purpose}", PolicyName="least-privilege")[
            "PolicyDocument"
        ]
        assert document == policies.ROLES[purpose][1](ctx)
    profile = iam.get_instance_profile(InstanceProfileName=f"{NAME}-rest-proxy")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [f"{NAME}-rest-proxy"]
    assert f"{NAME}-mwaa" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}  # mwaa not selected


def test_streams(moto_endpoint, applied):
    kinesis = client(moto_endpoint, "kinesis")
    for entity in ("pin", "geo", "user"):
        summary = kinesis.describe_stream_summary(StreamName=f"{NAME}-{entity}")["StreamDescriptionSummary"]
        assert summary["OpenShardCount"] == 1
        assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
        assert TAG in kinesis.list_tags_for_stream(StreamName=f"{NAME}-{entity}")["Tags"]


def test_security_group_rules(moto_endpoint, applied):
    ec2 = client(moto_endpoint, "ec2")
    (group,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{NAME}-sg"]}])[
        "SecurityGroups"
    ]
    rules = {(p["FromPort"], p["ToPort"]): p for p in group["IpPermissions"]}
    assert set(rules) == {(9098, 9098), (8082, 8082), (22, 22)}
    assert [g["GroupId"] for g in rules[(9098, 9098)]["UserIdGroupPairs"]] == [group["GroupId"]]
    assert [r["CidrIp"] for r in rules[(22, 22)]["IpRanges"]] == ["203.0.113.0/24"]
    assert TAG in group["Tags"]


def test_rest_proxy_host(moto_endpoint, applied):
    ec2 = client(moto_endpoint, "ec2")
    (reservation,) = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"{NAME}-rest-proxy"]}])[
        "Reservations"
    ]
    (inst,) = reservation["Instances"]
    assert inst["InstanceType"] == "t3.micro" and TAG in inst["Tags"]
    assert inst["IamInstanceProfile"]["Arn"].endswith(f"instance-profile/{NAME}-rest-proxy")
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    user_data = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="userData")
    script = base64.b64decode(user_data["UserData"]["Value"]).decode()
    assert (
        f'BOOTSTRAP="{BOOTSTRAP}"' in script and f"for topic in {NAME}.pin {NAME}.geo {NAME}.user" in script
    )
    assert applied["outputs"]["rest_proxy_url"] == f"http://{inst['PublicDnsName']}:8082"


def test_api_routes_and_integrations(moto_endpoint, applied):
    api = client(moto_endpoint, "apigateway")
    api_id = applied["outputs"]["rest_api_id"]
    resources = {r["path"]: r for r in api.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    assert set(resources) == {
        "/",
        "/streams",
        "/streams/{stream-name}",
        "/streams/{stream-name}/record",
        "/streams/{stream-name}/records",
        "/{proxy+}",
    }
    role_arn = f"arn:aws:iam::123456789012:role/{NAME}-apigw-kinesis"
    for route in apigateway.KINESIS_ROUTES:
        rid = resources[route.path]["id"]
        method = api.get_method(restApiId=api_id, resourceId=rid, httpMethod=route.method)
        assert method["apiKeyRequired"] is True
        assert method.get("requestParameters", {}) == route.request_parameters()
        if route.model is None:
            assert "requestValidatorId" not in method and not method.get("requestModels")
        else:
            assert method["requestModels"] == {"application/json": route.model_name}
            validator = api.get_request_validator(
                restApiId=api_id, requestValidatorId=method["requestValidatorId"]
            )
            assert (validator["validateRequestBody"], validator["validateRequestParameters"]) == (True, False)
            model = api.get_model(restApiId=api_id, modelName=route.model_name)
            assert json.loads(model["schema"]) == json.loads(route.model_schema())
        integration = method["methodIntegration"]
        assert integration["type"] == "AWS" and integration["httpMethod"] == "POST"
        assert integration["uri"] == f"arn:aws:apigateway:us-east-1:kinesis:action/{route.action}"
        assert integration["credentials"] == role_arn
        assert integration["requestTemplates"] == {"application/json": route.mapping_template()}
        assert integration["requestParameters"] == {
            "integration.request.header.Content-Type": "'application/x-amz-json-1.1'"
        }
        responses = integration["integrationResponses"]
        assert set(responses) == {"200", "400", "500"} and "selectionPattern" not in responses["200"]
        assert (responses["400"]["selectionPattern"], responses["500"]["selectionPattern"]) == (
            "4\\d{2}",
            "5\\d{2}",
        )
    proxy = api.get_method(restApiId=api_id, resourceId=resources["/{proxy+}"]["id"], httpMethod="ANY")
    assert proxy["apiKeyRequired"] is True
    assert proxy["methodIntegration"]["type"] == "HTTP_PROXY"
    assert proxy["methodIntegration"]["uri"] == applied["outputs"]["rest_proxy_url"] + "/{proxy}"
    stage = api.get_stage(restApiId=api_id, stageName="prod")
    assert stage["deploymentId"] and stage["tags"]["deployment"] == NAME


def test_api_key_and_usage_plan(moto_endpoint, applied):
    api = client(moto_endpoint, "apigateway")
    outputs = applied["outputs"]
    key = api.get_api_key(apiKey=outputs["api_key_id"], includeValue=True)
    assert key["enabled"] is True and key["tags"]["deployment"] == NAME
    plan = api.get_usage_plan(usagePlanId=outputs["usage_plan_id"])
    assert plan["apiStages"] == [{"apiId": outputs["rest_api_id"], "stage": "prod"}]
    assert plan["throttle"] == {"rateLimit": 50.0, "burstLimit": 100}
    assert [k["id"] for k in api.get_usage_plan_keys(usagePlanId=plan["id"])["items"]] == [key["id"]]
    # The key's value is a secret: neither the outputs file nor the console ever shows it.
    assert key["value"] not in applied["outputs_text"] and key["value"] not in applied["stdout"]


def test_outputs_file(applied):
    outputs = applied["outputs"]
    assert (
        outputs["invoke_url"] == f"https://{outputs['rest_api_id']}.execute-api.us-east-1.amazonaws.com/prod"
    )
    assert outputs["bucket"] == BUCKET and outputs["topic_prefix"] == NAME
    assert outputs["streams"] == {"pin": f"{NAME}-pin", "geo": f"{NAME}-geo", "user": f"{NAME}-user"}
    assert outputs["topics"] == {"pin": f"{NAME}.pin", "geo": f"{NAME}.geo", "user": f"{NAME}.user"}
    assert set(outputs) >= {"api_key_id", "region", "name", "stream_prefix"}
