"""Every generated IAM policy passes parliament (nothing above LOW) and the least-privilege rules."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string, enhance_finding

from infra import names, policies
from infra.config import Deployment
from infra.core import Context
from infra.errors import InfraError

SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def _ctx(name: str = "demo") -> Context:
    ctx = Context(
        Deployment(
            name=name,
            region="eu-west-1",
            components=("iam", "mwaa"),
            mwaa_subnet_ids=("subnet-a", "subnet-b"),
        ),
        client_factory=lambda service: pytest.fail(f"no AWS call expected ({service})"),
    )
    ctx.__dict__["account_id"] = "123456789012"  # cached_property: no STS call
    return ctx


def findings_above_low(policy: dict) -> list[tuple[str, str]]:
    """parliament's findings of MEDIUM severity or worse."""
    result = analyze_policy_string(json.dumps(policy))
    found = [enhance_finding(f) for f in result.findings]
    return [(f.issue, f.severity) for f in found if SEVERITIES.index(f.severity) > SEVERITIES.index("LOW")]


@pytest.mark.parametrize("purpose", sorted(policies.ROLES))
def test_generated_policy_passes_parliament(purpose):
    _, build = policies.ROLES[purpose]
    assert findings_above_low(build(_ctx())) == []


@pytest.mark.parametrize("purpose", sorted(policies.ROLES))
def test_generated_policy_has_no_wildcard_data_actions(purpose):
    _, build = policies.ROLES[purpose]
    policy = build(_ctx())
    assert policies.least_privilege_violations(policy) == []
    for stmt in policy["Statement"]:
        assert all(a != "*" and not a.endswith(":*") for a in stmt["Action"])


def test_linter_flags_a_resource_that_does_not_fit_the_action():
    # The lint is real: an object action on a bucket ARN is a MEDIUM finding, which the tests above reject.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::some-bucket"]}
        ],
    }
    assert ("RESOURCE_MISMATCH", "MEDIUM") in findings_above_low(policy)


@pytest.mark.parametrize(
    "action,resource",
    [
        ("s3:*", "*"),
        ("kafka:*", "*"),
        ("kafka-cluster:*", "*"),
        ("kinesis:Put*", "arn:aws:kinesis:::stream/x"),
        ("*", "arn:aws:s3:::b"),
        ("s3:PutObject", "*"),
        ("kafka-cluster:WriteData", "*"),
    ],
)
def test_wildcards_on_data_services_are_rejected(action, resource):
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": [action], "Resource": [resource]}],
    }
    assert policies.least_privilege_violations(policy)
    with pytest.raises(InfraError, match="not least privilege"):
        policies.check_least_privilege(policy)


def test_not_action_is_rejected():
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    }
    assert policies.least_privilege_violations(policy)


def test_list_streams_is_the_only_unscoped_kinesis_action():
    policy = policies.apigw_kinesis_policy(_ctx())
    unscoped = [a for s in policy["Statement"] if s["Resource"] == ["*"] for a in s["Action"]]
    assert unscoped == ["kinesis:ListStreams"]


def test_policies_are_scoped_to_this_deployment():
    ctx = _ctx("acme")
    rest_proxy = policies.rest_proxy_policy(ctx)
    resources = [r for s in rest_proxy["Statement"] for r in s["Resource"]]
    assert "arn:aws:kafka:eu-west-1:123456789012:cluster/acme-msk/*" in resources
    assert {
        "arn:aws:kafka:eu-west-1:123456789012:topic/acme-msk/*/acme.pin",
        "arn:aws:kafka:eu-west-1:123456789012:topic/acme-msk/*/acme.geo",
        "arn:aws:kafka:eu-west-1:123456789012:topic/acme-msk/*/acme.user",
    } <= set(resources)
    sink = policies.msk_connect_policy(ctx)
    s3_resources = {r for s in sink["Statement"] for r in s["Resource"] if r.startswith("arn:aws:s3")}
    assert s3_resources == {f"arn:aws:s3:::{names.bucket(ctx)}", f"arn:aws:s3:::{names.bucket(ctx)}/topics/*"}
    kinesis = policies.apigw_kinesis_policy(ctx)
    assert kinesis["Statement"][0]["Resource"] == ["arn:aws:kinesis:eu-west-1:123456789012:stream/acme-*"]


def test_trust_policies_name_one_service_each_role():
    for services, _ in policies.ROLES.values():
        trust = policies.trust(*services)
        (stmt,) = trust["Statement"]
        assert stmt["Action"] == "sts:AssumeRole" and stmt["Principal"] == {"Service": list(services)}
        assert all(s.endswith(".amazonaws.com") for s in services)
