"""`python -m pinterest_emulator.gateway ...`: the gateway subcommand on its own (same options)."""

import argparse
import sys

from . import add_arguments, run

parser = argparse.ArgumentParser(prog="pinterest-emulator gateway")
add_arguments(parser)
sys.exit(run(parser.parse_args()))
