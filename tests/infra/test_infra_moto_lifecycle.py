"""plan, apply, re-apply and destroy against moto's server: idempotent, and destroy touches only ours."""

from __future__ import annotations

import json

from infra_moto_helpers import client, inventory, run_cli

ACCOUNT = "123456789012"


def _foreign_resources(endpoint: str) -> None:
    """Resources of someone else in the same account, which destroy must leave alone."""
    client(endpoint, "s3").create_bucket(Bucket="someone-elses-bucket")
    client(endpoint, "iam").create_role(RoleName="someone-elses-role", AssumeRolePolicyDocument="{}")
    client(endpoint, "kinesis").create_stream(StreamName="someone-elses-stream", ShardCount=1)
    client(endpoint, "apigateway").create_rest_api(name="someone-elses-api")


def test_plan_apply_reapply_destroy(moto_endpoint, tmp_path):
    _foreign_resources(moto_endpoint)
    before = inventory(moto_endpoint)

    status, out, _ = run_cli(moto_endpoint, tmp_path, "plan", "life")
    assert status == 0
    assert out.splitlines()[-1] == "plan: 13 to create, 0 unchanged, 0 conflicts"
    assert inventory(moto_endpoint) == before  # plan changes nothing

    status, out, err = run_cli(moto_endpoint, tmp_path, "apply", "life")
    assert (status, err) == (0, "")
    assert "apply: 13 created, 0 unchanged" in out
    applied = inventory(moto_endpoint)
    added = {kind: applied[kind] - before[kind] for kind in applied}
    assert added["buckets"] == {f"life-{ACCOUNT}-raw"}
    assert added["roles"] == {"life-rest-proxy", "life-msk-connect", "life-apigw-kinesis"}
    assert added["profiles"] == {"life-rest-proxy"}
    assert added["streams"] == {"life-pin", "life-geo", "life-user"}
    assert all(
        len(added[k]) == 1 for k in ("security_groups", "instances", "rest_apis", "api_keys", "usage_plans")
    )
    outputs = json.loads((tmp_path / "life-outputs.json").read_text())

    status, out, _ = run_cli(moto_endpoint, tmp_path, "plan", "life")
    assert out.splitlines()[-1] == "plan: 0 to create, 13 unchanged, 0 conflicts"
    status, out, _ = run_cli(moto_endpoint, tmp_path, "apply", "life")
    assert status == 0 and "apply: 0 created, 13 unchanged" in out
    assert inventory(moto_endpoint) == applied  # re-apply creates nothing
    assert json.loads((tmp_path / "life-outputs.json").read_text()) == outputs

    status, out, _ = run_cli(moto_endpoint, tmp_path, "destroy", "life")
    assert status == 0 and "destroy: 13 deleted" in out
    assert inventory(moto_endpoint) == before  # everything ours is gone, everything else is still there
    assert not (tmp_path / "life-outputs.json").exists()

    status, out, _ = run_cli(moto_endpoint, tmp_path, "destroy", "life")
    assert status == 0 and "destroy: 0 deleted" in out  # destroy is idempotent too


def test_destroy_of_one_component_keeps_the_others(moto_endpoint, tmp_path):
    assert run_cli(moto_endpoint, tmp_path, "apply", "part")[0] == 0
    applied = inventory(moto_endpoint)
    status, out, _ = run_cli(moto_endpoint, tmp_path, "destroy", "part", components="apigateway")
    assert status == 0 and "destroy: 3 deleted" in out
    after = inventory(moto_endpoint)
    assert {k: applied[k] - after[k] for k in applied if applied[k] != after[k]}.keys() == {
        "rest_apis",
        "api_keys",
        "usage_plans",
    }
    outputs = json.loads((tmp_path / "part-outputs.json").read_text())
    assert "invoke_url" not in outputs and outputs["bucket"] == f"part-{ACCOUNT}-raw"
    assert run_cli(moto_endpoint, tmp_path, "destroy", "part")[0] == 0


def test_name_taken_by_a_resource_that_is_not_ours(moto_endpoint, tmp_path):
    s3 = client(moto_endpoint, "s3")
    s3.create_bucket(Bucket=f"taken-{ACCOUNT}-raw")  # same name, no deployment tag
    before = inventory(moto_endpoint)

    status, out, _ = run_cli(moto_endpoint, tmp_path, "plan", "taken")
    assert status == 1 and f"! s3 bucket taken-{ACCOUNT}-raw" in out

    status, out, err = run_cli(moto_endpoint, tmp_path, "apply", "taken")
    assert status == 1
    assert err.strip() == (
        f"provision.py apply: s3 bucket taken-{ACCOUNT}-raw exists but is not tagged "
        "deployment=taken; refusing to adopt it"
    )
    assert inventory(moto_endpoint) == before  # refused before creating anything

    status, out, _ = run_cli(moto_endpoint, tmp_path, "destroy", "taken")
    assert status == 0 and "left alone" in out
    assert f"taken-{ACCOUNT}-raw" in inventory(moto_endpoint)["buckets"]


def test_missing_dependency_is_reported_before_any_change(moto_endpoint, tmp_path):
    before = inventory(moto_endpoint)
    status, _, err = run_cli(moto_endpoint, tmp_path, "apply", "lonely", components="kinesis,apigateway")
    assert status == 1
    assert (
        err.strip() == "provision.py apply: apigateway needs the apigw-kinesis role: apply the iam component"
    )
    assert inventory(moto_endpoint) == before


def test_rebuilt_host_is_repointed_by_the_api(moto_endpoint, tmp_path, capsys):
    assert run_cli(moto_endpoint, tmp_path, "apply", "moved")[0] == 0
    first = json.loads((tmp_path / "moved-outputs.json").read_text())
    assert run_cli(moto_endpoint, tmp_path, "destroy", "moved", components="ec2")[0] == 0
    status, out, _ = run_cli(moto_endpoint, tmp_path, "apply", "moved")
    assert status == 0 and "apply: 2 created, 11 unchanged" in out  # the host and its security group
    assert "~ apigateway rest api moved-api: /{proxy+} now points to" in out
    second = json.loads((tmp_path / "moved-outputs.json").read_text())
    assert second["rest_proxy_url"] != first["rest_proxy_url"]
    assert second["rest_api_id"] == first["rest_api_id"]  # the API (and its invoke URL) stays

    api = client(moto_endpoint, "apigateway")
    proxy = next(
        r for r in api.get_resources(restApiId=second["rest_api_id"])["items"] if r["path"] == "/{proxy+}"
    )
    integration = api.get_integration(
        restApiId=second["rest_api_id"], resourceId=proxy["id"], httpMethod="ANY"
    )
    assert integration["uri"] == second["rest_proxy_url"] + "/{proxy}"
    assert len(api.get_deployments(restApiId=second["rest_api_id"])["items"]) == 2  # redeployed once
    assert run_cli(moto_endpoint, tmp_path, "destroy", "moved")[0] == 0


def test_an_api_that_fails_halfway_is_not_left_behind(moto_endpoint, tmp_path):
    import boto3
    from botocore.exceptions import ClientError

    from infra.provision import main

    assert run_cli(moto_endpoint, tmp_path, "apply", "halfway", components="s3,iam,kinesis,ec2")[0] == 0
    before = inventory(moto_endpoint)
    api = boto3.client("apigateway", region_name="us-east-1", endpoint_url=moto_endpoint)

    def refuse_proxy(params, **_):
        # Fail the last step of the build (the {proxy+} integration), as a throttled or rejected call would.
        if params.get("type") == "HTTP_PROXY":
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "PutIntegration"
            )

    api.meta.events.register("provide-client-params.apigateway.PutIntegration", refuse_proxy)
    clients = {"apigateway": api}
    config = tmp_path / "halfway.json"
    config.write_text(json.dumps({"bootstrap_servers": "b-1:9098", "poll_interval_s": 0}))
    status = main(
        [
            "apply",
            "--name",
            "halfway",
            "--endpoint-url",
            moto_endpoint,
            "--components",
            "apigateway",
            "--config",
            str(config),
            "--outputs",
            str(tmp_path / "halfway-outputs.json"),
        ],
        client_factory=lambda s: clients.get(s) or client(moto_endpoint, s),
    )
    assert status == 1
    assert inventory(moto_endpoint)["rest_apis"] == before["rest_apis"]  # the half-built API was deleted
    assert run_cli(moto_endpoint, tmp_path, "apply", "halfway")[0] == 0  # and a later apply builds it whole
    assert run_cli(moto_endpoint, tmp_path, "destroy", "halfway")[0] == 0
