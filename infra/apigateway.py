"""API Gateway REST API: Kinesis routes with mapping templates, `{proxy+}` to the REST proxy, API key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra import names
from infra.core import Context, Found, Resource, tags_owned
from infra.errors import MissingDependencyError

TEMPLATES = Path(__file__).parent / "templates" / "apigateway"
STREAM = "/streams/{stream-name}"


@dataclass(frozen=True)
class KinesisRoute:
    """One Kinesis route: a path and method mapped to a Kinesis action by a mapping template; optionally
    query-string parameters the template reads, and a JSON Schema model its request body must match."""

    path: str
    method: str
    action: str
    template: str
    query: tuple[str, ...] = ()
    model: str | None = None  # a file in TEMPLATES: a draft-04 JSON Schema, API Gateway's model language

    def mapping_template(self) -> str:
        """The request mapping template (Velocity) for this route."""
        return (TEMPLATES / self.template).read_text()

    def model_schema(self) -> str | None:
        """The request body's model (JSON Schema text), or None when the body is not validated."""
        return None if self.model is None else (TEMPLATES / self.model).read_text()

    @property
    def model_name(self) -> str | None:
        """The model's name in the API (alphanumeric, as API Gateway requires): the action's, plus Body."""
        return None if self.model is None else f"{self.action}Body"

    def request_parameters(self) -> dict[str, bool]:
        """The method's declared request parameters: the path's (required) and the query's (optional)."""
        return {
            **_path_params(self.path),
            **{f"method.request.querystring.{name}": False for name in self.query},
        }


KINESIS_ROUTES = (
    # ListStreams pages with Limit and ExclusiveStartStreamName, given here as ?Limit=N&ExclusiveStartStreamName=S
    # https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListStreams.html
    KinesisRoute(
        "/streams", "GET", "ListStreams", "list_streams.vtl", query=("Limit", "ExclusiveStartStreamName")
    ),
    KinesisRoute(STREAM, "POST", "CreateStream", "create_stream.vtl"),
    KinesisRoute(STREAM, "GET", "DescribeStream", "describe_stream.vtl"),
    KinesisRoute(STREAM, "DELETE", "DeleteStream", "delete_stream.vtl"),
    KinesisRoute(f"{STREAM}/record", "PUT", "PutRecord", "put_record.vtl"),
    # AWS's {"Records": [{"Data", "PartitionKey"}]} or the course seed's {"records": [{"data", "partition-key"}]};
    # a body with both, or mixed, fails the model: API Gateway answers 400 {"message": "Invalid request body"}
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
    KinesisRoute(
        f"{STREAM}/records", "PUT", "PutRecords", "put_records.vtl", model="put_records.schema.json"
    ),
)
PROXY_PATH = "/{proxy+}"


def _path_params(path: str) -> dict[str, bool]:
    params = [part.strip("{}+") for part in path.split("/") if part.startswith("{")]
    return {f"method.request.path.{p}": True for p in params}


def invoke_url(ctx: Context, api_id: str) -> str:
    """The stage's public invoke URL."""
    return f"https://{api_id}.execute-api.{ctx.d.region}.amazonaws.com/{ctx.d.stage}"


class RestApi(Resource):
    """The REST API with every route, deployed to the stage; built whole, deleted whole if building fails."""

    kind = "apigateway rest api"

    def __init__(self, ctx: Context):
        super().__init__(ctx, ctx.d.resource_name("api"))

    @property
    def api(self):
        """The apigateway client."""
        return self.ctx.client("apigateway")

    def find(self) -> Found | None:
        for page in self.api.get_paginator("get_rest_apis").paginate():
            for item in page["items"]:
                if item["name"] == self.name:
                    return Found(item["id"], owned=tags_owned(item.get("tags", {}), self.ctx))
        return None

    def check(self, planned: set[tuple[str, str]]) -> None:
        if ("iam role", names.role(self.ctx, "apigw-kinesis")) not in planned:
            from infra.iam import Role

            if Role(self.ctx, "apigw-kinesis").find() is None:
                raise MissingDependencyError(
                    "apigateway needs the apigw-kinesis role: apply the iam component"
                )
        if ("ec2 instance", self.ctx.d.resource_name("rest-proxy")) not in planned:
            from infra.ec2 import RestProxyHost

            if RestProxyHost(self.ctx).find() is None:
                raise MissingDependencyError("apigateway needs the REST proxy host: apply the ec2 component")

    def _rest_proxy_host(self) -> str:
        from infra.ec2 import RestProxyHost

        found = RestProxyHost(self.ctx).find()
        if found is None:
            raise MissingDependencyError("apigateway needs the REST proxy host: apply the ec2 component")
        return found.details["public_dns"]

    def create(self) -> None:
        api_id = self.api.create_rest_api(
            name=self.name,
            description=f"{self.ctx.d.name}: Kafka and Kinesis",
            endpointConfiguration={"types": ["REGIONAL"]},
            tags=self.ctx.d.tags,
        )["id"]
        try:
            self._build(api_id)
        except Exception:
            self.api.delete_rest_api(restApiId=api_id)  # no half-built API left behind to be mistaken as done
            raise

    def _build(self, api_id: str) -> None:
        root = next(r["id"] for r in self.api.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        ids = {"/": root}

        def resource_id(path: str) -> str:
            if path not in ids:
                parent, _, part = path.rpartition("/")
                ids[path] = self.api.create_resource(
                    restApiId=api_id, parentId=resource_id(parent or "/"), pathPart=part
                )["id"]
            return ids[path]

        role = names.role_arn(self.ctx, "apigw-kinesis")
        validator = None
        for route in KINESIS_ROUTES:
            rid = resource_id(route.path)
            body_check = {}
            if route.model is not None:
                if validator is None:
                    validator = self.api.create_request_validator(
                        restApiId=api_id,
                        name="body",
                        validateRequestBody=True,
                        validateRequestParameters=False,
                    )["id"]
                self.api.create_model(
                    restApiId=api_id,
                    name=route.model_name,
                    contentType="application/json",
                    schema=route.model_schema(),
                )
                body_check = {
                    "requestValidatorId": validator,
                    "requestModels": {"application/json": route.model_name},
                }
            self.api.put_method(
                restApiId=api_id,
                resourceId=rid,
                httpMethod=route.method,
                authorizationType="NONE",
                apiKeyRequired=True,
                requestParameters=route.request_parameters(),
                **body_check,
            )
            self.api.put_integration(
                restApiId=api_id,
                resourceId=rid,
                httpMethod=route.method,
                type="AWS",
                integrationHttpMethod="POST",
                credentials=role,
                uri=f"arn:aws:apigateway:{self.ctx.d.region}:kinesis:action/{route.action}",
                requestParameters={"integration.request.header.Content-Type": "'application/x-amz-json-1.1'"},
                requestTemplates={"application/json": route.mapping_template()},
                passthroughBehavior="WHEN_NO_TEMPLATES",
            )
            for status, pattern in (("200", None), ("400", "4\\d{2}"), ("500", "5\\d{2}")):
                self.api.put_method_response(
                    restApiId=api_id,
                    resourceId=rid,
                    httpMethod=route.method,
                    statusCode=status,
                    responseModels={"application/json": "Empty"},
                )
                # The 200 response is the default one: it has no selection pattern.
                selection = {"selectionPattern": pattern} if pattern else {}
                self.api.put_integration_response(
                    restApiId=api_id, resourceId=rid, httpMethod=route.method, statusCode=status, **selection
                )

        rid = resource_id(PROXY_PATH)
        self.api.put_method(
            restApiId=api_id,
            resourceId=rid,
            httpMethod="ANY",
            authorizationType="NONE",
            apiKeyRequired=True,
            requestParameters=_path_params(PROXY_PATH),
        )
        self._put_proxy_integration(api_id, rid)
        self.api.create_deployment(
            restApiId=api_id, stageName=self.ctx.d.stage, description=f"{self.ctx.d.name} routes"
        )
        stage_arn = f"arn:aws:apigateway:{self.ctx.d.region}::/restapis/{api_id}/stages/{self.ctx.d.stage}"
        self.api.tag_resource(resourceArn=stage_arn, tags=self.ctx.d.tags)

    def _proxy_uri(self) -> str:
        return f"http://{self._rest_proxy_host()}:{self.ctx.d.rest_proxy_port}/{{proxy}}"

    def _put_proxy_integration(self, api_id: str, resource_id: str) -> None:
        self.api.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="ANY",
            type="HTTP_PROXY",
            integrationHttpMethod="ANY",
            uri=self._proxy_uri(),
            requestParameters={"integration.request.path.proxy": "method.request.path.proxy"},
        )

    def converge(self, found: Found) -> None:
        # A rebuilt REST proxy host has a new public DNS name: repoint {proxy+} and redeploy the stage.
        if "ec2" not in self.ctx.d.components:
            return
        resources = self.api.get_resources(restApiId=found.ident)["items"]
        proxy = next((r for r in resources if r["path"] == PROXY_PATH), None)
        if proxy is None:
            return
        uri = self._proxy_uri()
        if (
            self.api.get_integration(restApiId=found.ident, resourceId=proxy["id"], httpMethod="ANY")["uri"]
            != uri
        ):
            self.ctx.log(f"~ {self.kind} {self.name}: {PROXY_PATH} now points to {uri}")
            self._put_proxy_integration(found.ident, proxy["id"])  # PutIntegration replaces the old one
            self.api.create_deployment(
                restApiId=found.ident,
                stageName=self.ctx.d.stage,
                description=f"{self.ctx.d.name}: REST proxy host changed",
            )

    def delete(self, found: Found) -> None:
        self.api.delete_rest_api(restApiId=found.ident)

    def outputs(self, found: Found) -> dict:
        return {"rest_api_id": found.ident, "invoke_url": invoke_url(self.ctx, found.ident)}


class ApiKey(Resource):
    """The API key clients send as x-api-key; only its id is ever output, never its value."""

    kind = "apigateway api key"

    def __init__(self, ctx: Context):
        super().__init__(ctx, ctx.d.resource_name("key"))

    @property
    def api(self):
        """The apigateway client."""
        return self.ctx.client("apigateway")

    def find(self) -> Found | None:
        for page in self.api.get_paginator("get_api_keys").paginate(nameQuery=self.name, includeValues=False):
            for item in page["items"]:
                if item["name"] == self.name:
                    return Found(item["id"], owned=tags_owned(item.get("tags", {}), self.ctx))
        return None

    def create(self) -> None:
        self.api.create_api_key(name=self.name, enabled=True, tags=self.ctx.d.tags)

    def delete(self, found: Found) -> None:
        self.api.delete_api_key(apiKey=found.ident)

    def outputs(self, found: Found) -> dict:
        return {"api_key_id": found.ident}


class UsagePlan(Resource):
    """Throttling for the stage, and the link that makes the API key valid on it."""

    kind = "apigateway usage plan"

    def __init__(self, ctx: Context):
        super().__init__(ctx, ctx.d.resource_name("plan"))

    @property
    def api(self):
        """The apigateway client."""
        return self.ctx.client("apigateway")

    def find(self) -> Found | None:
        for page in self.api.get_paginator("get_usage_plans").paginate():
            for item in page["items"]:
                if item["name"] == self.name:
                    return Found(item["id"], owned=tags_owned(item.get("tags", {}), self.ctx))
        return None

    def create(self) -> None:
        api_id, key_id = RestApi(self.ctx).find().ident, ApiKey(self.ctx).find().ident
        plan_id = self.api.create_usage_plan(
            name=self.name,
            apiStages=[{"apiId": api_id, "stage": self.ctx.d.stage}],
            throttle={"rateLimit": self.ctx.d.throttle_rate, "burstLimit": self.ctx.d.throttle_burst},
            tags=self.ctx.d.tags,
        )["id"]
        self.api.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")

    def delete(self, found: Found) -> None:
        for key in self.api.get_usage_plan_keys(usagePlanId=found.ident)["items"]:
            self.api.delete_usage_plan_key(usagePlanId=found.ident, keyId=key["id"])
        api_id = RestApi(self.ctx).find()
        if api_id is not None:
            # A usage plan cannot be deleted while it still names a stage.
            self.api.update_usage_plan(
                usagePlanId=found.ident,
                patchOperations=[
                    {"op": "remove", "path": "/apiStages", "value": f"{api_id.ident}:{self.ctx.d.stage}"}
                ],
            )
        self.api.delete_usage_plan(usagePlanId=found.ident)

    def outputs(self, found: Found) -> dict:
        return {"usage_plan_id": found.ident}


def resources(ctx: Context) -> list[Resource]:
    """The apigateway component."""
    return [RestApi(ctx), ApiKey(ctx), UsagePlan(ctx)]
