"""IAM trust and permission policies, least privilege: named actions on this deployment's resources."""

from __future__ import annotations

from infra import names
from infra.core import Context
from infra.errors import InfraError

VERSION = "2012-10-17"
# Services that hold or move the pipeline's data: never a wildcard action, never Resource "*".
DATA_SERVICES = ("s3", "kafka", "kafka-cluster", "kafkaconnect", "kinesis", "airflow", "sqs", "kms")
# Actions that have no resource-level permissions, so "*" is the only resource they accept.
RESOURCELESS_ACTIONS = {"kinesis:ListStreams", "s3:GetAccountPublicAccessBlock"}


def trust(*services: str) -> dict:
    """A trust policy letting the given AWS services assume the role."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"}
        ],
    }


def _stmt(sid: str, actions: list[str], resources: list[str], **extra) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def rest_proxy_policy(ctx: Context) -> dict:
    """The EC2 REST proxy host: create the three topics and produce to them over IAM auth."""
    cluster = names.cluster_arn_pattern(ctx)
    topics = [names.topic_arn(ctx, t) for t in ctx.d.topics.values()]
    return {
        "Version": VERSION,
        "Statement": [
            # Kafka clients from 3.0 on produce idempotently, which needs WriteDataIdempotently on the cluster.
            _stmt(
                "ConnectToCluster",
                [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    "kafka-cluster:WriteDataIdempotently",
                ],
                [cluster],
            ),
            _stmt(
                "ProduceToTopics",
                ["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
                topics,
            ),
        ],
    }


def msk_connect_policy(ctx: Context) -> dict:
    """The S3 sink connector: read the three topics, keep MSK Connect's own topics, write the bucket."""
    cluster = names.cluster_arn_pattern(ctx)
    topics = [names.topic_arn(ctx, t) for t in ctx.d.topics.values()]
    # MSK Connect keeps offsets, configs and status in internal topics named __amazon_msk_connect_*.
    internal_topics = names.topic_arn(ctx, "__amazon_msk_connect_*")
    groups = [
        names.group_arn(ctx, f"connect-{names.connector(ctx)}*"),
        names.group_arn(ctx, "__amazon_msk_connect_*"),
    ]
    bucket_arn = f"arn:aws:s3:::{names.bucket(ctx)}"
    return {
        "Version": VERSION,
        "Statement": [
            _stmt("ConnectToCluster", ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], [cluster]),
            _stmt("ReadTopics", ["kafka-cluster:ReadData", "kafka-cluster:DescribeTopic"], topics),
            _stmt(
                "InternalTopics",
                [
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:ReadData",
                    "kafka-cluster:WriteData",
                ],
                [internal_topics],
            ),
            _stmt("ConsumerGroups", ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"], groups),
            _stmt(
                "ListBucket",
                ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                [bucket_arn],
            ),
            _stmt(
                "WriteTopicFiles",
                ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                [f"{bucket_arn}/topics/*"],
            ),
        ],
    }


def apigw_kinesis_policy(ctx: Context) -> dict:
    """API Gateway's Kinesis routes: manage and write streams named after this deployment only."""
    streams = [names.stream_arn(ctx, f"{ctx.d.name}-*")]
    return {
        "Version": VERSION,
        "Statement": [
            _stmt(
                "ManageAndWriteStreams",
                [
                    "kinesis:CreateStream",
                    "kinesis:DeleteStream",
                    "kinesis:DescribeStream",
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                ],
                streams,
            ),
            # ListStreams has no resource-level permissions: it can only be granted on "*".
            _stmt("ListStreams", ["kinesis:ListStreams"], ["*"]),
        ],
    }


def mwaa_policy(ctx: Context) -> dict:
    """The MWAA execution role (AWS's documented minimum), scoped to this environment and DAG bucket."""
    env = names.mwaa_environment(ctx)
    bucket_arn = f"arn:aws:s3:::{names.dag_bucket(ctx)}"
    region = ctx.d.region
    return {
        "Version": VERSION,
        "Statement": [
            _stmt("PublishMetrics", ["airflow:PublishMetrics"], [ctx.arn("airflow", f"environment/{env}")]),
            _stmt(
                "ReadDagBucket",
                [
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:ListBucket",
                    "s3:GetBucketLocation",
                    "s3:GetBucketPublicAccessBlock",
                ],
                [bucket_arn, f"{bucket_arn}/*"],
            ),
            _stmt("AccountPublicAccessBlock", ["s3:GetAccountPublicAccessBlock"], ["*"]),
            _stmt(
                "Logs",
                [
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                [ctx.arn("logs", f"log-group:airflow-{env}-*")],
            ),
            _stmt("DescribeLogGroups", ["logs:DescribeLogGroups"], ["*"]),
            _stmt("Metrics", ["cloudwatch:PutMetricData"], ["*"]),
            # The Celery queue lives in an AWS-owned account, hence the account wildcard.
            _stmt(
                "CeleryQueue",
                [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                [f"arn:aws:sqs:{region}:*:airflow-celery-*"],
            ),
            _stmt(
                "CeleryQueueEncryption",
                ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                [f"arn:aws:kms:*:{ctx.account_id}:key/*"],
                Condition={"StringLike": {"kms:ViaService": [f"sqs.{region}.amazonaws.com"]}},
            ),
        ],
    }


# purpose -> (trusted services, permission policy builder)
ROLES = {
    "rest-proxy": (("ec2.amazonaws.com",), rest_proxy_policy),
    "msk-connect": (("kafkaconnect.amazonaws.com",), msk_connect_policy),
    "apigw-kinesis": (("apigateway.amazonaws.com",), apigw_kinesis_policy),
    "mwaa": (("airflow.amazonaws.com", "airflow-env.amazonaws.com"), mwaa_policy),
}


def all_policies(ctx: Context) -> dict[str, dict]:
    """Every permission policy this deployment generates, by role purpose."""
    return {purpose: build(ctx) for purpose, (_, build) in ROLES.items()}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def least_privilege_violations(policy: dict) -> list[str]:
    """Why a permission policy is broader than allowed: wildcard or unscoped data-service actions."""
    problems = []
    for stmt in policy["Statement"]:
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt or "NotResource" in stmt:
            problems.append(f"{stmt.get('Sid', '?')}: NotAction/NotResource grants too much")
            continue
        resources = _as_list(stmt.get("Resource", []))
        for action in _as_list(stmt.get("Action", [])):
            service = action.split(":", 1)[0].lower()
            if action == "*" or (service in DATA_SERVICES and "*" in action):
                problems.append(f"wildcard action {action}")
            elif service in DATA_SERVICES and "*" in resources and action not in RESOURCELESS_ACTIONS:
                problems.append(f"{action} on Resource *")
    return problems


def check_least_privilege(policy: dict) -> dict:
    """Return the policy, or raise if it breaks the least-privilege rules above."""
    problems = least_privilege_violations(policy)
    if problems:
        raise InfraError(f"policy is not least privilege: {'; '.join(problems)}")
    return policy
