"""The two inputs of the checks that never live in the repository: the real source rows (never copied here) and
the official Databricks bundle validator with its JSON schema (what `databricks bundle schema` prints).

Each is found where its environment variable says, else in the folder the project's machines lay beside the
checkout (`shared/`). A test that needs one skips, naming the variable, where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared"

REAL_DATA = Path(os.environ.get("PINTEREST_REAL_DATA", _BESIDE_CHECKOUT / "real"))
BUNDLE_VALIDATOR = Path(
    os.environ.get("PINTEREST_BUNDLE_VALIDATOR", _BESIDE_CHECKOUT / "databricks" / "validate_bundle.py")
)


def real_data_dir(needs: str) -> Path:
    """The real rows' folder, or skip: `needs` is the file or folder of it the test reads."""
    if not (REAL_DATA / needs).exists():
        pytest.skip(
            f"real data not found: no {REAL_DATA / needs} (set PINTEREST_REAL_DATA to the real rows' folder)"
        )
    return REAL_DATA


def bundle_validator() -> Path:
    """The official bundle validator script, or skip."""
    if not BUNDLE_VALIDATOR.is_file():
        pytest.skip(
            f"bundle validator not found at {BUNDLE_VALIDATOR} (set PINTEREST_BUNDLE_VALIDATOR to validate_bundle.py)"
        )
    return BUNDLE_VALIDATOR
