"""Names and ARNs of this deployment's resources, shared by the components and the policies."""

from __future__ import annotations

from infra.core import Context


def bucket(ctx: Context) -> str:
    """Raw-topics bucket: bucket names are global, so the account id keeps ours unique."""
    return ctx.d.bucket or f"{ctx.d.name}-{ctx.account_id}-raw"


def dag_bucket(ctx: Context) -> str:
    """MWAA source bucket (MWAA requires the `airflow-` prefix)."""
    return f"airflow-{ctx.d.name}-{ctx.account_id}"


def cluster(ctx: Context) -> str:
    """MSK cluster name."""
    return ctx.d.resource_name("msk")


def role(ctx: Context, purpose: str) -> str:
    """IAM role name for one purpose: rest-proxy, msk-connect, apigw-kinesis or mwaa."""
    return ctx.d.resource_name(purpose)


def role_arn(ctx: Context, purpose: str) -> str:
    """IAM role ARN for one purpose."""
    return ctx.arn("iam", f"role/{role(ctx, purpose)}", region=False)


def connector(ctx: Context) -> str:
    """MSK Connect connector (and custom plugin) name."""
    return ctx.d.resource_name("s3-sink")


def mwaa_environment(ctx: Context) -> str:
    """MWAA environment name."""
    return ctx.d.resource_name("airflow")


def cluster_arn_pattern(ctx: Context) -> str:
    """The cluster's ARN with its generated id left as a wildcard, so policies exist before the cluster."""
    return ctx.arn("kafka", f"cluster/{cluster(ctx)}/*")


def topic_arn(ctx: Context, topic: str) -> str:
    """ARN of a topic of the cluster."""
    return ctx.arn("kafka", f"topic/{cluster(ctx)}/*/{topic}")


def group_arn(ctx: Context, group: str) -> str:
    """ARN of a consumer group of the cluster."""
    return ctx.arn("kafka", f"group/{cluster(ctx)}/*/{group}")


def stream_arn(ctx: Context, stream: str) -> str:
    """ARN of a Kinesis stream."""
    return ctx.arn("kinesis", f"stream/{stream}")
