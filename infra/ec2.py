"""The EC2 host that runs the Confluent REST proxy against MSK, configured by user data."""

from __future__ import annotations

from pathlib import Path
from string import Template

from botocore.exceptions import ClientError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from infra import names
from infra.core import Context, Found, Resource, tags_owned
from infra.errors import MissingDependencyError
from infra.msk import bootstrap_servers
from infra.network import SecurityGroup, subnets

USER_DATA = Path(__file__).parent / "templates" / "rest_proxy_user_data.sh"


def render_user_data(ctx: Context, bootstrap: str) -> str:
    """The host's user data script for this deployment and cluster."""
    return Template(USER_DATA.read_text()).substitute(
        bootstrap=bootstrap,
        name=ctx.d.name,
        port=ctx.d.rest_proxy_port,
        topics=" ".join(ctx.d.topics.values()),
        partitions=ctx.d.topic_partitions,
        replication=min(3, bootstrap.count(",") + 1),
        kafka_version=ctx.d.kafka_client_version,
        confluent_version=ctx.d.confluent_version,
        confluent_minor=".".join(ctx.d.confluent_version.split(".")[:2]),
        iam_auth_version=ctx.d.msk_iam_auth_version,
    )


def _profile_not_ready(exc: BaseException) -> bool:
    # A new instance profile takes a few seconds to be usable by EC2 (IAM is eventually consistent).
    return (
        isinstance(exc, ClientError)
        and exc.response["Error"]["Code"] == "InvalidParameterValue"
        and "iamInstanceProfile" in str(exc)
    )


class RestProxyHost(Resource):
    """A t3.micro in a public subnet of the cluster's VPC, IMDSv2 only."""

    kind = "ec2 instance"

    def __init__(self, ctx: Context):
        super().__init__(ctx, ctx.d.resource_name("rest-proxy"))

    @property
    def ec2(self):
        """The ec2 client."""
        return self.ctx.client("ec2")

    def find(self) -> Found | None:
        pages = self.ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "tag:Name", "Values": [self.name]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
            ]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                    return Found(
                        inst["InstanceId"],
                        owned=tags_owned(tags, self.ctx),
                        details={"public_dns": inst.get("PublicDnsName", "")},
                    )
        return None

    def check(self, planned: set[tuple[str, str]]) -> None:
        if not self.ctx.d.bootstrap_servers and ("msk cluster", names.cluster(self.ctx)) not in planned:
            from infra.msk import Cluster

            if Cluster(self.ctx).find() is None:
                raise MissingDependencyError("ec2 needs the MSK cluster: apply msk or set bootstrap_servers")
        if ("iam instance profile", names.role(self.ctx, "rest-proxy")) not in planned:
            from infra.iam import InstanceProfile

            if InstanceProfile(self.ctx).find() is None:
                raise MissingDependencyError(
                    "ec2 needs the rest-proxy instance profile: apply the iam component"
                )

    def _ami(self) -> str:
        if self.ctx.d.ami_id:
            return self.ctx.d.ami_id
        return self.ctx.client("ssm").get_parameter(Name=self.ctx.d.ami_parameter)["Parameter"]["Value"]

    @retry(
        retry=retry_if_exception(_profile_not_ready),
        wait=wait_exponential(min=2, max=20),
        stop=stop_after_attempt(8),
        reraise=True,
    )
    def _run(self, **kwargs) -> str:
        return self.ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]

    def create(self) -> None:
        tags = [{"Key": k, "Value": v} for k, v in {**self.ctx.d.tags, "Name": self.name}.items()]
        kwargs = {
            "ImageId": self._ami(),
            "InstanceType": self.ctx.d.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "IamInstanceProfile": {"Name": names.role(self.ctx, "rest-proxy")},
            "NetworkInterfaces": [
                {
                    "DeviceIndex": 0,
                    "SubnetId": subnets(self.ctx)[0]["SubnetId"],
                    "Groups": [SecurityGroup(self.ctx).find().ident],
                    "AssociatePublicIpAddress": True,
                }
            ],
            "UserData": render_user_data(self.ctx, bootstrap_servers(self.ctx)),
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
        }
        if self.ctx.d.key_name:
            kwargs["KeyName"] = self.ctx.d.key_name
        instance_id = self._run(**kwargs)
        self.ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 5})

    def delete(self, found: Found) -> None:
        self.ec2.terminate_instances(InstanceIds=[found.ident])
        self.ec2.get_waiter("instance_terminated").wait(InstanceIds=[found.ident], WaiterConfig={"Delay": 5})

    def outputs(self, found: Found) -> dict:
        host = found.details["public_dns"]
        return {
            "rest_proxy_instance_id": found.ident,
            "rest_proxy_url": f"http://{host}:{self.ctx.d.rest_proxy_port}" if host else None,
        }


def resources(ctx: Context) -> list[Resource]:
    """The ec2 component."""
    return [SecurityGroup(ctx), RestProxyHost(ctx)]
