"""IAM roles with inline least-privilege policies, and the REST proxy host's instance profile."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from infra import names, policies
from infra.core import Context, Found, Resource, tags_owned

POLICY_NAME = "least-privilege"


def _tags(ctx: Context) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in ctx.d.tags.items()]


class Role(Resource):
    """A role for one purpose (see policies.ROLES), with its permission policy inline."""

    kind = "iam role"

    def __init__(self, ctx: Context, purpose: str):
        super().__init__(ctx, names.role(ctx, purpose))
        self.purpose = purpose

    @property
    def iam(self):
        """The iam client."""
        return self.ctx.client("iam")

    def find(self) -> Found | None:
        try:
            role = self.iam.get_role(RoleName=self.name)["Role"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchEntity":
                return None
            raise
        tags = {t["Key"]: t["Value"] for t in self.iam.list_role_tags(RoleName=self.name)["Tags"]}
        return Found(role["Arn"], owned=tags_owned(tags, self.ctx))

    def create(self) -> None:
        services, _ = policies.ROLES[self.purpose]
        self.iam.create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(policies.trust(*services)),
            Description=f"{self.ctx.d.name}: {self.purpose}",
            Tags=_tags(self.ctx),
        )
        self.converge(Found(self.name, owned=True))

    def converge(self, found: Found) -> None:
        _, build = policies.ROLES[self.purpose]
        # put_role_policy replaces the document: re-applying updates the policy without creating anything.
        self.iam.put_role_policy(
            RoleName=self.name,
            PolicyName=POLICY_NAME,
            PolicyDocument=json.dumps(policies.check_least_privilege(build(self.ctx))),
        )

    def delete(self, found: Found) -> None:
        for policy in self.iam.list_role_policies(RoleName=self.name)["PolicyNames"]:
            self.iam.delete_role_policy(RoleName=self.name, PolicyName=policy)
        for attached in self.iam.list_attached_role_policies(RoleName=self.name)["AttachedPolicies"]:
            self.iam.detach_role_policy(RoleName=self.name, PolicyArn=attached["PolicyArn"])
        self.iam.delete_role(RoleName=self.name)

    def outputs(self, found: Found) -> dict:
        return {"roles": {**self.ctx.outputs.get("roles", {}), self.purpose: found.ident}}


class InstanceProfile(Resource):
    """The instance profile that gives the REST proxy host its role."""

    kind = "iam instance profile"

    def __init__(self, ctx: Context):
        super().__init__(ctx, names.role(ctx, "rest-proxy"))

    @property
    def iam(self):
        """The iam client."""
        return self.ctx.client("iam")

    def find(self) -> Found | None:
        try:
            profile = self.iam.get_instance_profile(InstanceProfileName=self.name)["InstanceProfile"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchEntity":
                return None
            raise
        tags = {t["Key"]: t["Value"] for t in profile.get("Tags", [])}
        return Found(
            profile["Arn"],
            owned=tags_owned(tags, self.ctx),
            details={"roles": [r["RoleName"] for r in profile["Roles"]]},
        )

    def create(self) -> None:
        self.iam.create_instance_profile(InstanceProfileName=self.name, Tags=_tags(self.ctx))
        self.iam.add_role_to_instance_profile(InstanceProfileName=self.name, RoleName=self.name)

    def delete(self, found: Found) -> None:
        for role in found.details["roles"]:
            self.iam.remove_role_from_instance_profile(InstanceProfileName=self.name, RoleName=role)
        self.iam.delete_instance_profile(InstanceProfileName=self.name)


def resources(ctx: Context) -> list[Resource]:
    """The iam component: the roles (MWAA's only with the mwaa component) and the instance profile."""
    purposes = [p for p in policies.ROLES if p != "mwaa" or "mwaa" in ctx.d.components]
    return [*(Role(ctx, p) for p in purposes), InstanceProfile(ctx)]
