"""The three Kinesis data streams, `<name>-pin|geo|user`."""

from __future__ import annotations

from botocore.exceptions import ClientError

from infra.core import Context, Found, Resource, tags_owned


class Stream(Resource):
    """A provisioned-mode stream (one shard is ample for the emulator, and cheaper than on-demand)."""

    kind = "kinesis stream"

    def __init__(self, ctx: Context, entity: str):
        super().__init__(ctx, ctx.d.streams[entity])
        self.entity = entity

    @property
    def kinesis(self):
        """The kinesis client."""
        return self.ctx.client("kinesis")

    def find(self) -> Found | None:
        try:
            summary = self.kinesis.describe_stream_summary(StreamName=self.name)["StreamDescriptionSummary"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        tags = {t["Key"]: t["Value"] for t in self.kinesis.list_tags_for_stream(StreamName=self.name)["Tags"]}
        return Found(summary["StreamARN"], owned=tags_owned(tags, self.ctx))

    def create(self) -> None:
        self.kinesis.create_stream(
            StreamName=self.name,
            ShardCount=self.ctx.d.kinesis_shards,
            StreamModeDetails={"StreamMode": "PROVISIONED"},
        )
        self.kinesis.get_waiter("stream_exists").wait(StreamName=self.name, WaiterConfig={"Delay": 1})
        self.kinesis.add_tags_to_stream(StreamName=self.name, Tags=self.ctx.d.tags)

    def delete(self, found: Found) -> None:
        self.kinesis.delete_stream(StreamName=self.name, EnforceConsumerDeletion=True)
        self.kinesis.get_waiter("stream_not_exists").wait(StreamName=self.name, WaiterConfig={"Delay": 1})

    def outputs(self, found: Found) -> dict:
        return {"streams": {**self.ctx.outputs.get("streams", {}), self.entity: self.name}}


def resources(ctx: Context) -> list[Resource]:
    """The kinesis component."""
    return [Stream(ctx, e) for e in ctx.d.streams]
