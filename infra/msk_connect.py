"""MSK Connect: the Confluent S3 sink as a custom plugin, and the connector that lands the topics in S3."""

from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from infra import names
from infra.connector import sink_connector_config
from infra.core import Context, Found, Resource, tags_owned
from infra.errors import ConfigError, InfraError, MissingDependencyError
from infra.msk import bootstrap_servers
from infra.network import SecurityGroup, subnets

PLUGIN_PREFIX = "plugins/"


def _owned(ctx: Context, arn: str) -> bool:
    return tags_owned(ctx.client("kafkaconnect").list_tags_for_resource(resourceArn=arn)["tags"], ctx)


class CustomPlugin(Resource):
    """The connector's code: the Confluent S3 sink zip, uploaded to the raw bucket under plugins/."""

    kind = "msk-connect custom plugin"

    def __init__(self, ctx: Context):
        super().__init__(ctx, names.connector(ctx))

    @property
    def kc(self):
        """The kafkaconnect client."""
        return self.ctx.client("kafkaconnect")

    def find(self) -> Found | None:
        for page in self.kc.get_paginator("list_custom_plugins").paginate(namePrefix=self.name):
            for plugin in page["customPlugins"]:
                if plugin["name"] == self.name:
                    return Found(
                        plugin["customPluginArn"],
                        owned=_owned(self.ctx, plugin["customPluginArn"]),
                        details={
                            "state": plugin["customPluginState"],
                            "revision": plugin.get("latestRevision", {}).get("revision", 1),
                        },
                    )
        return None

    def check(self, planned: set[tuple[str, str]]) -> None:
        if not self.ctx.d.connector_plugin_zip:
            raise ConfigError(
                "msk-connect needs connector_plugin_zip: the Confluent S3 sink connector zip "
                "(see infra/README.md)"
            )

    def create(self) -> None:
        zip_path = Path(self.ctx.d.connector_plugin_zip)
        key = PLUGIN_PREFIX + zip_path.name
        bucket = names.bucket(self.ctx)
        self.ctx.client("s3").upload_file(str(zip_path), bucket, key)
        self.kc.create_custom_plugin(
            name=self.name,
            contentType="ZIP",
            description="Confluent S3 sink connector",
            location={"s3Location": {"bucketArn": f"arn:aws:s3:::{bucket}", "fileKey": key}},
            tags=self.ctx.d.tags,
        )
        self.ctx.wait_until(f"custom plugin {self.name} to be ACTIVE", self._active)

    def _active(self) -> bool:
        state = self.find().details["state"]
        if state == "CREATE_FAILED":
            raise InfraError(f"custom plugin {self.name} failed: check the zip is the S3 sink connector")
        return state == "ACTIVE"

    def delete(self, found: Found) -> None:
        self.kc.delete_custom_plugin(customPluginArn=found.ident)
        self.ctx.wait_until(f"custom plugin {self.name} to be deleted", lambda: self.find() is None)


class Connector(Resource):
    """The S3 sink connector, IAM-authenticated over TLS, sized at one MCU and one worker."""

    kind = "msk-connect connector"

    def __init__(self, ctx: Context):
        super().__init__(ctx, names.connector(ctx))

    @property
    def kc(self):
        """The kafkaconnect client."""
        return self.ctx.client("kafkaconnect")

    def find(self) -> Found | None:
        for page in self.kc.get_paginator("list_connectors").paginate(connectorNamePrefix=self.name):
            for conn in page["connectors"]:
                if conn["connectorName"] == self.name:
                    return Found(
                        conn["connectorArn"],
                        owned=_owned(self.ctx, conn["connectorArn"]),
                        details={"state": conn["connectorState"]},
                    )
        return None

    def check(self, planned: set[tuple[str, str]]) -> None:
        if ("iam role", names.role(self.ctx, "msk-connect")) not in planned:
            from infra.iam import Role

            if Role(self.ctx, "msk-connect").find() is None:
                raise MissingDependencyError(
                    "msk-connect needs the msk-connect role: apply the iam component"
                )

    def create(self) -> None:
        plugin = CustomPlugin(self.ctx).find()
        self.kc.create_connector(
            connectorName=self.name,
            connectorDescription=f"{self.ctx.d.name}: topics to S3",
            capacity={
                "provisionedCapacity": {
                    "mcuCount": self.ctx.d.connector_mcu_count,
                    "workerCount": self.ctx.d.connector_workers,
                }
            },
            connectorConfiguration=sink_connector_config(
                names.bucket(self.ctx), self.ctx.d.region, self.ctx.d.topic_prefix
            ),
            kafkaCluster={
                "apacheKafkaCluster": {
                    "bootstrapServers": bootstrap_servers(self.ctx),
                    "vpc": {
                        "subnets": [s["SubnetId"] for s in subnets(self.ctx)],
                        "securityGroups": [SecurityGroup(self.ctx).find().ident],
                    },
                }
            },
            kafkaClusterClientAuthentication={"authenticationType": "IAM"},
            kafkaClusterEncryptionInTransit={"encryptionType": "TLS"},
            kafkaConnectVersion=self.ctx.d.kafka_connect_version,
            plugins=[
                {"customPlugin": {"customPluginArn": plugin.ident, "revision": plugin.details["revision"]}}
            ],
            serviceExecutionRoleArn=names.role_arn(self.ctx, "msk-connect"),
            tags=self.ctx.d.tags,
        )
        self.ctx.wait_until(f"connector {self.name} to be RUNNING", self._running)

    def _running(self) -> bool:
        state = self.find().details["state"]
        if state == "FAILED":
            raise InfraError(f"connector {self.name} failed: see its state description in the console")
        return state == "RUNNING"

    def delete(self, found: Found) -> None:
        self.kc.delete_connector(connectorArn=found.ident)

        def gone() -> bool:
            try:
                return self.find() is None
            except ClientError as exc:
                return exc.response["Error"]["Code"] == "NotFoundException"

        self.ctx.wait_until(f"connector {self.name} to be deleted", gone)

    def outputs(self, found: Found) -> dict:
        return {"connector_arn": found.ident}


def resources(ctx: Context) -> list[Resource]:
    """The msk-connect component."""
    return [SecurityGroup(ctx), CustomPlugin(ctx), Connector(ctx)]
