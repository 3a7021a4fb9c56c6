"""The MSK cluster: IAM authentication only, TLS in transit, smallest brokers."""

from __future__ import annotations

from infra import names
from infra.core import Context, Found, Resource, tags_owned
from infra.network import SecurityGroup, subnets


def bootstrap_servers(ctx: Context) -> str:
    """The cluster's SASL/IAM bootstrap brokers (or the configured ones of an existing cluster)."""
    if ctx.d.bootstrap_servers:
        return ctx.d.bootstrap_servers
    found = Cluster(ctx).find()
    if found is None:
        from infra.errors import MissingDependencyError

        raise MissingDependencyError("no MSK cluster: apply the msk component or set bootstrap_servers")
    return ctx.client("kafka").get_bootstrap_brokers(ClusterArn=found.ident)["BootstrapBrokerStringSaslIam"]


class Cluster(Resource):
    """A provisioned cluster, one kafka.t3.small broker per subnet (MSK Serverless has a far higher floor)."""

    kind = "msk cluster"

    def __init__(self, ctx: Context):
        super().__init__(ctx, names.cluster(ctx))

    @property
    def kafka(self):
        """The kafka client."""
        return self.ctx.client("kafka")

    def find(self) -> Found | None:
        pages = self.kafka.get_paginator("list_clusters").paginate(ClusterNameFilter=self.name)
        for page in pages:
            for info in page["ClusterInfoList"]:
                if info["ClusterName"] == self.name:
                    return Found(
                        info["ClusterArn"],
                        owned=tags_owned(info.get("Tags", {}), self.ctx),
                        details={"state": info["State"]},
                    )
        return None

    def create(self) -> None:
        subnet_ids = [s["SubnetId"] for s in subnets(self.ctx)]
        group = SecurityGroup(self.ctx).find()
        self.kafka.create_cluster(
            ClusterName=self.name,
            KafkaVersion=self.ctx.d.kafka_version,
            NumberOfBrokerNodes=len(subnet_ids),
            BrokerNodeGroupInfo={
                "InstanceType": self.ctx.d.broker_instance_type,
                "ClientSubnets": subnet_ids,
                "SecurityGroups": [group.ident],
                "StorageInfo": {"EbsStorageInfo": {"VolumeSize": self.ctx.d.broker_volume_gib}},
            },
            ClientAuthentication={"Sasl": {"Iam": {"Enabled": True}}, "Unauthenticated": {"Enabled": False}},
            EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
            Tags=self.ctx.d.tags,
        )
        self.ctx.wait_until(f"MSK cluster {self.name} to be ACTIVE", lambda: self._state() == "ACTIVE")

    def _state(self) -> str | None:
        found = self.find()
        return found.details["state"] if found else None

    def delete(self, found: Found) -> None:
        self.kafka.delete_cluster(ClusterArn=found.ident)
        self.ctx.wait_until(f"MSK cluster {self.name} to be deleted", lambda: self.find() is None)

    def outputs(self, found: Found) -> dict:
        return {"msk_cluster_arn": found.ident, "bootstrap_servers": bootstrap_servers(self.ctx)}


def resources(ctx: Context) -> list[Resource]:
    """The msk component."""
    return [SecurityGroup(ctx), Cluster(ctx)]
