"""S3 buckets: private (public access blocked), encrypted, tagged."""

from __future__ import annotations

from botocore.exceptions import ClientError

from infra.core import Context, Found, Resource, tags_owned


def _tag_dict(tag_set: list[dict]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_set}


class Bucket(Resource):
    """A private, encrypted bucket; `versioned` for MWAA's source bucket, which requires versioning."""

    kind = "s3 bucket"

    def __init__(self, ctx: Context, name: str, output_key: str, versioned: bool = False):
        super().__init__(ctx, name)
        self.output_key = output_key
        self.versioned = versioned

    @property
    def s3(self):
        """The s3 client."""
        return self.ctx.client("s3")

    def find(self) -> Found | None:
        try:
            self.s3.head_bucket(Bucket=self.name)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("404", "NoSuchBucket"):
                return None
            if code in ("403", "AccessDenied"):
                return Found(self.name, owned=False)  # someone else's bucket with our name
            raise
        try:
            tags = _tag_dict(self.s3.get_bucket_tagging(Bucket=self.name)["TagSet"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchTagSet":
                raise
            tags = {}
        return Found(self.name, owned=tags_owned(tags, self.ctx))

    def create(self) -> None:
        kwargs = {}
        if self.ctx.d.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.ctx.d.region}
        self.s3.create_bucket(Bucket=self.name, **kwargs)
        self.s3.put_bucket_tagging(
            Bucket=self.name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in self.ctx.d.tags.items()]}
        )
        self.converge(Found(self.name, owned=True))

    def converge(self, found: Found) -> None:
        self.s3.put_public_access_block(
            Bucket=self.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        # SSE-S3 rather than KMS: no key cost and no per-request KMS charges for many small sink files.
        self.s3.put_bucket_encryption(
            Bucket=self.name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        if self.versioned:
            self.s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})

    def delete(self, found: Found) -> None:
        # A bucket must be empty to be deleted: the sink's files (every version) go with it.
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.name):
            objects = [
                {"Key": o["Key"], "VersionId": o["VersionId"]}
                for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                self.s3.delete_objects(Bucket=self.name, Delete={"Objects": objects, "Quiet": True})
        self.s3.delete_bucket(Bucket=self.name)
        self.s3.get_waiter("bucket_not_exists").wait(Bucket=self.name, WaiterConfig={"Delay": 1})

    def outputs(self, found: Found) -> dict:
        return {self.output_key: self.name}
