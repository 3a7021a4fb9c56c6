"""`python -m pinterest_emulator.gateway ...`: the gateway subcommand on its own (same options and errors)."""

import sys

from pinterest_emulator.cli import main

sys.exit(main(["gateway", *sys.argv[1:]]))
