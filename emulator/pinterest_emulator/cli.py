"""`pinterest-emulator`: seed-db, post and gateway (see docs/design.md, "Commands").

Each subcommand lives in its own module, imported only when it runs, so that one command's dependencies
never slow down or break another. A module registers its arguments with `add_arguments(parser)` and runs with
`run(args) -> int` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module implementing add_arguments(parser) and run(args)
SUBCOMMANDS = {
    "seed-db": ("pinterest_emulator.seed", "create and fill the three source tables"),
    "post": ("pinterest_emulator.post", "replay posts from the source database to a target"),
    "gateway": (
        "pinterest_emulator.gateway",
        "the local API gateway: Kafka REST proxy + S3 sink files, Kinesis proxy",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="pinterest-emulator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        return module.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
