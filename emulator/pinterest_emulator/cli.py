"""`pinterest-emulator`: seed-db, post and gateway (see docs/design.md, "Commands").

Each subcommand lives in its own module, imported only when it runs, so that one command's dependencies
never slow down or break another. A module registers its arguments with `add_arguments(parser)` and runs with
`run(args) -> int` (the exit code); a failure it raises is reported by the project's convention
(`pinterest_pipeline.errors`): one line on stderr, `pinterest-emulator <command>: <message>`, and the exit
code of its kind (2 bad arguments or settings, 3 a source that cannot be read, 5 a service out of reach, 1 a
run that failed, 130 Ctrl-C).
"""

from __future__ import annotations

import importlib
import socket
import sqlite3
import sys

from pinterest_pipeline.errors import CommandLineParser, PipelineError, ServiceError, run_command

# subcommand -> module implementing add_arguments(parser) and run(args)
SUBCOMMANDS = {
    "seed-db": ("pinterest_emulator.seed", "create and fill the three source tables"),
    "post": ("pinterest_emulator.post", "replay posts from the source database to a target"),
    "gateway": (
        "pinterest_emulator.gateway",
        "the local API gateway: Kafka REST proxy + S3 sink files, Kinesis proxy",
    ),
}


def build_parser() -> CommandLineParser:
    """The argument parser of every subcommand (a usage error is one line, exit code 2)."""
    parser = CommandLineParser(prog="pinterest-emulator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)  # subparsers are CommandLineParsers too
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def describe(error: Exception) -> PipelineError | None:
    """An error no command classified that still says what happened: a service out of reach (exit code 5).

    A database server that drops or refuses connections while the tables are written or read surfaces as
    SQLAlchemy's OperationalError; a socket that cannot connect, as the OSError of its kind. Anything else is
    a failed run (exit code 1).
    """
    if "sqlalchemy" in sys.modules:
        from pinterest_emulator import db

        # a SQLite file is not a service: its OperationalErrors (locked, read-only, full) are failed runs
        if db.is_connection_lost(error) and not isinstance(getattr(error, "orig", None), sqlite3.Error):
            reason = " ".join(str(getattr(error, "orig", None) or error).split())
            return ServiceError(f"source database unreachable: {reason}")
    if isinstance(error, (ConnectionRefusedError, socket.gaierror)):
        return ServiceError(f"cannot connect: {error}")
    return None


def main(argv: list[str] | None = None) -> int:
    """Console entry point: parse, run the subcommand, and turn its failure into one line and an exit code."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    return run_command(f"pinterest-emulator {args.command}", lambda: module.run(args), describe)


if __name__ == "__main__":
    sys.exit(main())
