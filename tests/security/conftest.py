"""Fixtures of the security tier. The gateway helpers of tests/emulator (`gateway_fixtures`) are importable here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))
