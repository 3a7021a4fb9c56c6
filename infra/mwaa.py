"""The optional MWAA (managed Airflow) environment and its versioned DAG bucket."""

from __future__ import annotations

from botocore.exceptions import ClientError

from infra import names
from infra.core import Context, Found, Resource, tags_owned
from infra.errors import InfraError, MissingDependencyError
from infra.network import MwaaSecurityGroup
from infra.s3 import Bucket


class Environment(Resource):
    """The smallest environment class with one worker; DAGs are read from s3://<dag bucket>/dags."""

    kind = "mwaa environment"

    def __init__(self, ctx: Context):
        super().__init__(ctx, names.mwaa_environment(ctx))

    @property
    def mwaa(self):
        """The mwaa client."""
        return self.ctx.client("mwaa")

    def find(self) -> Found | None:
        try:
            env = self.mwaa.get_environment(Name=self.name)["Environment"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise
        return Found(
            env["Arn"],
            owned=tags_owned(env.get("Tags", {}), self.ctx),
            details={"status": env["Status"], "webserver_url": env.get("WebserverUrl")},
        )

    def check(self, planned: set[tuple[str, str]]) -> None:
        if ("iam role", names.role(self.ctx, "mwaa")) not in planned:
            from infra.iam import Role

            if Role(self.ctx, "mwaa").find() is None:
                raise MissingDependencyError("mwaa needs the mwaa role: apply the iam component with mwaa")

    def create(self) -> None:
        self.mwaa.create_environment(
            Name=self.name,
            ExecutionRoleArn=names.role_arn(self.ctx, "mwaa"),
            SourceBucketArn=f"arn:aws:s3:::{names.dag_bucket(self.ctx)}",
            DagS3Path="dags",
            NetworkConfiguration={
                "SubnetIds": list(self.ctx.d.mwaa_subnet_ids),
                "SecurityGroupIds": [MwaaSecurityGroup(self.ctx).find().ident],
            },
            EnvironmentClass=self.ctx.d.mwaa_environment_class,
            MaxWorkers=1,
            MinWorkers=1,
            AirflowVersion=self.ctx.d.airflow_version,
            WebserverAccessMode="PUBLIC_ONLY",
            Tags=self.ctx.d.tags,
        )
        self.ctx.wait_until(f"MWAA environment {self.name} to be AVAILABLE", self._available)

    def _available(self) -> bool:
        status = self.find().details["status"]
        if status == "CREATE_FAILED":
            raise InfraError(f"MWAA environment {self.name} failed to create")
        return status == "AVAILABLE"

    def delete(self, found: Found) -> None:
        self.mwaa.delete_environment(Name=self.name)
        self.ctx.wait_until(f"MWAA environment {self.name} to be deleted", lambda: self.find() is None)

    def outputs(self, found: Found) -> dict:
        return {
            "mwaa_environment": self.name,
            "mwaa_webserver_url": found.details["webserver_url"],
            "dag_bucket": names.dag_bucket(self.ctx),
        }


def resources(ctx: Context) -> list[Resource]:
    """The mwaa component."""
    return [
        Bucket(ctx, names.dag_bucket(ctx), "dag_bucket", versioned=True),
        MwaaSecurityGroup(ctx),
        Environment(ctx),
    ]
