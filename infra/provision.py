"""Provision the AWS side of the pipeline: `python infra/provision.py plan|apply|destroy --name NAME`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make `infra` importable as a package from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from infra import apigateway, ec2, iam, kinesis, msk, msk_connect, mwaa, names
from infra.config import ALL_COMPONENTS, load_config_file, make_deployment
from infra.core import Context, Resource, apply, destroy, plan
from infra.errors import ConfigError, InfraError, ServiceError
from infra.s3 import Bucket
from pinterest_pipeline.errors import CommandLineParser, run_command

# Creation order; apigateway comes after ec2 because its {proxy+} route points at the REST proxy host.
ORDER = ("s3", "iam", "kinesis", "msk", "ec2", "apigateway", "msk-connect", "mwaa")
BUILDERS = {
    "s3": lambda ctx: [Bucket(ctx, names.bucket(ctx), "bucket")],
    "iam": iam.resources,
    "kinesis": kinesis.resources,
    "msk": msk.resources,
    "ec2": ec2.resources,
    "apigateway": apigateway.resources,
    "msk-connect": msk_connect.resources,
    "mwaa": mwaa.resources,
}
# Output keys each component contributes, dropped from the outputs file when it is destroyed.
OUTPUT_KEYS = {
    "s3": ("bucket",),
    "iam": ("roles",),
    "kinesis": (),
    "msk": ("msk_cluster_arn", "bootstrap_servers", "security_group_id"),
    "ec2": ("rest_proxy_instance_id", "rest_proxy_url", "security_group_id"),
    "apigateway": ("rest_api_id", "invoke_url", "api_key_id", "usage_plan_id"),
    "msk-connect": ("connector_arn",),
    "mwaa": ("mwaa_environment", "mwaa_webserver_url", "dag_bucket", "mwaa_security_group_id"),
}


def resources(ctx: Context) -> list[Resource]:
    """The selected components' resources in creation order, each listed once."""
    seen, result = set(), []
    for component in ORDER:
        if component in ctx.d.components:
            for r in BUILDERS[component](ctx):
                if r.key not in seen:
                    seen.add(r.key)
                    result.append(r)
    return result


def default_outputs_path(name: str) -> Path:
    """Where outputs go unless --outputs says otherwise (.pinterest/ is the local home, not committed)."""
    return Path(".pinterest") / "infra" / f"{name}.json"


def base_outputs(ctx: Context) -> dict:
    """Outputs known from the names alone."""
    return {
        "name": ctx.d.name,
        "region": ctx.d.region,
        "topic_prefix": ctx.d.topic_prefix,
        "topics": ctx.d.topics,
        "stream_prefix": ctx.d.name,
        "streams": ctx.d.streams,
    }


def write_outputs(path: Path, outputs: dict) -> None:
    """Write the outputs file (no secret is ever in it: the API key appears by id only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")


def run(command: str, ctx: Context, outputs_path: Path) -> int:
    """Carry out one command; returns the exit status."""
    res = resources(ctx)
    if command == "plan":
        changes = plan(res)
        for change in changes:
            ctx.log(str(change))
        counts = {a: sum(c.action == a for c in changes) for a in "+=!"}
        ctx.log(f"plan: {counts['+']} to create, {counts['=']} unchanged, {counts['!']} conflicts")
        return 1 if counts["!"] else 0
    previous = json.loads(outputs_path.read_text()) if outputs_path.is_file() else {}
    if command == "apply":
        result = apply(res)
        write_outputs(outputs_path, {**previous, **base_outputs(ctx), **result.outputs})
        ctx.log(
            f"apply: {len(result.created)} created, {len(res) - len(result.created)} unchanged; "
            f"outputs in {outputs_path}"
        )
        return 0
    deleted = destroy(res)
    remaining = {k: v for k, v in previous.items() if not any(k in OUTPUT_KEYS[c] for c in ctx.d.components)}
    if set(remaining) - set(base_outputs(ctx)):
        write_outputs(outputs_path, remaining)
    elif outputs_path.is_file():
        outputs_path.unlink()
    ctx.log(f"destroy: {len(deleted)} deleted")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (docs/design.md, "Commands", plus --config for settings from a file)."""
    parser = CommandLineParser(prog="provision.py", description=__doc__)
    parser.add_argument("command", choices=["plan", "apply", "destroy"])
    parser.add_argument("--name", help="deployment name: prefixes and tags every resource")
    parser.add_argument("--region", help="AWS region (default us-east-1)")
    parser.add_argument("--endpoint-url", help="one endpoint for every service (e.g. a moto server)")
    parser.add_argument(
        "--components", help=f"comma-separated subset of {','.join(ALL_COMPONENTS)} (default: all but mwaa)"
    )
    parser.add_argument("--outputs", help="outputs JSON file (default .pinterest/infra/<name>.json)")
    parser.add_argument("--config", help="settings file (.toml or .json) with any Deployment field")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> dict:
    """Settings from the config file, overridden by the flags given."""
    settings = load_config_file(args.config) if args.config else {}
    flags = {
        "name": args.name,
        "region": args.region,
        "endpoint_url": args.endpoint_url,
        "components": args.components,
        "outputs": args.outputs,
    }
    settings.update({k: v for k, v in flags.items() if v is not None})
    return settings


def main(argv: list[str] | None = None, client_factory=None) -> int:
    """Entry point: one summary on success; otherwise one line `provision.py <command>: ...` and the exit
    code of the project's convention (pinterest_pipeline/errors.py)."""
    args = parse_args(argv)

    def body() -> int:
        d = make_deployment(settings_from(args))
        ctx = Context(d, client_factory=client_factory)
        return run(args.command, ctx, Path(d.outputs) if d.outputs else default_outputs_path(d.name))

    return run_command(f"provision.py {args.command}", body, describe=_aws_error)


def _aws_error(error: Exception) -> InfraError | None:
    """An AWS failure as one of the convention's kinds: missing credentials or region are bad settings, an
    endpoint that cannot be reached is an unreachable service, anything else AWS answered failed the run."""
    if isinstance(error, NoCredentialsError | NoRegionError):
        return ConfigError(f"AWS: {error}")
    if isinstance(error, ConnectionError):
        return ServiceError(_shortened(f"AWS unreachable: {error}"))
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return InfraError(_shortened(f"AWS {error.operation_name}: {err.get('Code')}: {err.get('Message')}"))
    if isinstance(error, BotoCoreError):
        return InfraError(_shortened(f"AWS: {error}"))
    return None


def _shortened(message: str, limit: int = 400) -> str:
    # An endpoint that is not AWS (a proxy, an emulator) can answer with a whole HTML page.
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
