"""Subnets and the security group shared by the MSK brokers, the REST proxy host and the connector."""

from __future__ import annotations

from botocore.exceptions import ClientError

from infra.core import Context, Found, Resource, tags_owned
from infra.errors import ConfigError

KAFKA_IAM_PORT = 9098  # MSK's SASL/IAM over TLS listener
USERS = {"msk", "ec2", "msk-connect"}  # the components whose resources sit in the shared group


def subnets(ctx: Context) -> list[dict]:
    """The configured subnets, or one per availability zone of the default VPC (first two)."""
    if "subnets" not in ctx.cache:
        ctx.cache["subnets"] = _lookup_subnets(ctx)
    return ctx.cache["subnets"]


def _lookup_subnets(ctx: Context) -> list[dict]:
    ec2 = ctx.client("ec2")
    if ctx.d.subnet_ids:
        found = ec2.describe_subnets(SubnetIds=list(ctx.d.subnet_ids))["Subnets"]
    else:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ConfigError(f"no default VPC in {ctx.d.region}: set subnet_ids")
        found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]
        by_zone = {}
        for s in sorted(found, key=lambda s: s["AvailabilityZone"]):
            by_zone.setdefault(s["AvailabilityZone"], s)
        found = list(by_zone.values())[:2]
    if len({s["AvailabilityZone"] for s in found}) < 2 or len({s["VpcId"] for s in found}) != 1:
        raise ConfigError("MSK needs subnets of one VPC in at least two availability zones")
    return found


class SecurityGroup(Resource):
    """Kafka (IAM/TLS) between members of the group; the REST proxy port open to API Gateway."""

    kind = "ec2 security group"

    description = "MSK, REST proxy, connector"

    def __init__(self, ctx: Context, suffix: str = "sg"):
        super().__init__(ctx, ctx.d.resource_name(suffix))

    @property
    def ec2(self):
        """The ec2 client."""
        return self.ctx.client("ec2")

    def vpc(self) -> str:
        """The VPC the group belongs to."""
        return subnets(self.ctx)[0]["VpcId"]

    def rules(self, group_id: str) -> list[dict]:
        """The group's ingress rules."""
        rules = [
            {
                "IpProtocol": "tcp",
                "FromPort": KAFKA_IAM_PORT,
                "ToPort": KAFKA_IAM_PORT,
                "UserIdGroupPairs": [{"GroupId": group_id}],
            },
            # API Gateway's HTTP proxy reaches the host from AWS's public ranges, which are not fixed;
            # the API key on every route is the access control (a VPC link + NLB would cost ~$16/month).
            {
                "IpProtocol": "tcp",
                "FromPort": self.ctx.d.rest_proxy_port,
                "ToPort": self.ctx.d.rest_proxy_port,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
        ]
        if self.ctx.d.ssh_cidr:
            rules.append(
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": self.ctx.d.ssh_cidr}],
                }
            )
        return rules

    def find(self) -> Found | None:
        vpc = self.vpc()
        groups = self.ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [self.name]}, {"Name": "vpc-id", "Values": [vpc]}]
        )["SecurityGroups"]
        if not groups:
            return None
        tags = {t["Key"]: t["Value"] for t in groups[0].get("Tags", [])}
        return Found(groups[0]["GroupId"], owned=tags_owned(tags, self.ctx))

    def create(self) -> None:
        group_id = self.ec2.create_security_group(
            GroupName=self.name,
            Description=f"{self.ctx.d.name}: {self.description}",
            VpcId=self.vpc(),
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [{"Key": k, "Value": v} for k, v in self.ctx.d.tags.items()],
                }
            ],
        )["GroupId"]
        rules = self.rules(group_id)
        self.ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=rules)

    def waits_for_release(self) -> bool:
        """Whether every user of the group is being destroyed, so a DependencyViolation is only a delay."""
        return USERS <= set(self.ctx.d.components)

    def delete(self, found: Found) -> bool:
        # Deleted MSK brokers and connectors release their network interfaces minutes later: wait for
        # that when all users go; if some user stays (e.g. destroying ec2 alone), keep the group.
        def deleted() -> bool:
            try:
                self.ec2.delete_security_group(GroupId=found.ident)
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "DependencyViolation":
                    raise
                return False

        if deleted():
            return True
        if self.waits_for_release():
            self.ctx.wait_until(f"{self.kind} {self.name} to be released", deleted)
            return True
        self.ctx.log(f"= {self.kind} {self.name} kept: still in use")
        return False

    def outputs(self, found: Found) -> dict:
        return {"security_group_id": found.ident}


class MwaaSecurityGroup(SecurityGroup):
    """MWAA's own group, in the VPC of its private subnets: all traffic between its members (AWS's rule)."""

    description = "MWAA environment"

    def __init__(self, ctx: Context):
        super().__init__(ctx, "mwaa-sg")

    def vpc(self) -> str:
        if "mwaa_vpc" not in self.ctx.cache:
            found = self.ec2.describe_subnets(SubnetIds=list(self.ctx.d.mwaa_subnet_ids))["Subnets"]
            self.ctx.cache["mwaa_vpc"] = found[0]["VpcId"]
        return self.ctx.cache["mwaa_vpc"]

    def rules(self, group_id: str) -> list[dict]:
        return [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]}]

    def waits_for_release(self) -> bool:
        return True  # only the environment uses this group, and destroy deletes it first

    def outputs(self, found: Found) -> dict:
        return {"mwaa_security_group_id": found.ident}
