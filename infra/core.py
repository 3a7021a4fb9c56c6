"""The plan/apply/destroy engine: resources that can be found, created, converged and deleted."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from infra.config import Deployment
from infra.errors import ConflictError, InfraError

ClientFactory = Callable[[str], Any]
# Service models are large JSON files; one loader shared by every session parses each model once.
_LOADER = botocore.loaders.create_loader()


def _botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", _LOADER)
    return session


class Context:
    """A deployment plus the AWS clients it talks to, created once per service."""

    def __init__(
        self,
        deployment: Deployment,
        client_factory: ClientFactory | None = None,
        log: Callable[[str], None] = print,
    ):
        self.d = deployment
        self.log = log
        self._factory = client_factory or self._boto3_client
        self._clients: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.cache: dict[str, Any] = {}  # lookups that cannot change during one run (e.g. subnets)

    def _boto3_client(self, service: str) -> Any:
        session = boto3.session.Session(botocore_session=_botocore_session(), region_name=self.d.region)
        return session.client(
            service,
            endpoint_url=self.d.endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 8}),
        )

    def client(self, service: str) -> Any:
        """The client for one AWS service."""
        if service not in self._clients:
            self._clients[service] = self._factory(service)
        return self._clients[service]

    @functools.cached_property
    def account_id(self) -> str:
        """The AWS account the credentials belong to."""
        return self.client("sts").get_caller_identity()["Account"]

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        """An ARN in this deployment's partition, account and (optionally) region."""
        return f"arn:aws:{service}:{self.d.region if region else ''}:{self.account_id}:{resource}"

    def wait_until(self, what: str, probe: Callable[[], bool]) -> None:
        """Poll `probe` until it is true, or fail after the deployment's wait timeout."""
        waiter = retry(
            retry=retry_if_result(lambda done: not done),
            wait=wait_fixed(self.d.poll_interval_s),
            stop=stop_after_delay(self.d.wait_timeout_s),
            reraise=True,
            retry_error_callback=lambda _: False,
        )(probe)
        if not waiter():
            raise InfraError(f"timed out waiting for {what}")


@dataclass
class Found:
    """An existing resource: its identifier, whether it carries our deployment tag, and details."""

    ident: str
    owned: bool
    details: dict = field(default_factory=dict)


class Resource:
    """One AWS resource of a component; subclasses implement find, create and delete."""

    kind = "resource"

    def __init__(self, ctx: Context, name: str):
        self.ctx = ctx
        self.name = name

    @property
    def key(self) -> tuple[str, str]:
        """Identity used to list a resource shared by two components only once."""
        return (self.kind, self.name)

    def find(self) -> Found | None:
        """The resource if it exists, else None (read-only)."""
        raise NotImplementedError

    def create(self) -> None:
        """Create the resource, tagged with the deployment."""
        raise NotImplementedError

    def converge(self, found: Found) -> None:
        """Bring an existing resource's settings in line, creating nothing (default: nothing to do)."""

    def delete(self, found: Found) -> bool | None:
        """Delete the resource and wait until it is gone (return False if it had to be kept)."""
        raise NotImplementedError

    def check(self, planned: set[tuple[str, str]]) -> None:
        """Raise before any change if a dependency is neither in `planned` nor in AWS (default: fine)."""

    def outputs(self, found: Found) -> dict:
        """Values for the outputs file (default: none)."""
        return {}


def tags_owned(tags: dict[str, str], ctx: Context) -> bool:
    """True when a tag set marks a resource as this deployment's."""
    return tags.get("deployment") == ctx.d.name


@dataclass
class Change:
    """One line of a plan: '+' create, '=' keep, '-' delete, '!' conflict."""

    action: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


def _survey(resources: list[Resource]) -> list[tuple[Resource, Found | None]]:
    return [(r, r.find()) for r in resources]


def _change(r: Resource, found: Found | None, destroy: bool) -> Change:
    if found is None:
        return Change(" " if destroy else "+", r.kind, r.name)
    if not found.owned:
        return Change("!", r.kind, r.name)
    return Change("-" if destroy else "=", r.kind, r.name)


def plan(resources: list[Resource], destroy: bool = False) -> list[Change]:
    """What apply (or destroy) would do, found without changing anything."""
    changes = [_change(r, found, destroy) for r, found in _survey(resources)]
    return [c for c in (reversed(changes) if destroy else changes) if c.action != " "]


@dataclass
class ApplyResult:
    """What apply created, and the outputs of every resource."""

    created: list[Change]
    outputs: dict


def apply(resources: list[Resource]) -> ApplyResult:
    """Create what is missing and converge what exists, after checking nothing is in the way."""
    survey = _survey(resources)
    conflicts = [_change(r, f, False) for r, f in survey if f is not None and not f.owned]
    if conflicts:
        raise ConflictError(
            f"{conflicts[0].kind} {conflicts[0].name} exists but is not tagged "
            f"deployment={resources[0].ctx.d.name}; refusing to adopt it"
        )
    planned = {r.key for r in resources}
    for r, found in survey:
        if found is None:
            r.check(planned)
    created = []
    for r, found in survey:
        if found is None:
            r.ctx.log(f"+ {r.kind} {r.name}")
            r.create()
            created.append(Change("+", r.kind, r.name))
            found = r.find()
            if found is None:
                raise InfraError(f"{r.kind} {r.name} was created but cannot be found")
        else:
            r.converge(found)
        r.ctx.outputs.update(r.outputs(found))
    return ApplyResult(created, dict(resources[0].ctx.outputs) if resources else {})


def destroy(resources: list[Resource]) -> list[Change]:
    """Delete, in reverse order, the resources that exist and carry this deployment's tag."""
    done = []
    for r in reversed(resources):
        found = r.find()
        if found is None:
            continue
        if not found.owned:
            r.ctx.log(f"! {r.kind} {r.name} is not tagged deployment={r.ctx.d.name}; left alone")
            continue
        r.ctx.log(f"- {r.kind} {r.name}")
        if r.delete(found) is not False:  # False: the resource had to be kept (e.g. still in use)
            done.append(Change("-", r.kind, r.name))
    return done
