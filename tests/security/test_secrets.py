"""No secret in the repository: detect-secrets scans every tracked file (code, notebooks, bundle, infra, docs),
and a planted key is found, so the scan is known to work. The few findings in tests are dummy credentials for
local stand-ins; each is allowed here by file, type and hash, with the reason."""

from __future__ import annotations

import hashlib
import random
import string
import subprocess
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

REPO = Path(__file__).resolve().parents[2]

# Findings that are not secrets: file | detector | SHA-1 of the flagged text (as detect-secrets reports it) | why.
# A new finding fails the test; so does a line that no longer matches anything (the list only shrinks with the
# code). Plain text, not quoted strings, so that the hashes are not findings themselves.
ALLOWED_TABLE = """
databricks.yml | Secret Keyword | e0750b38953414f712ea0f996d530e8534555d1b | service_credential names a credential
tests/bundle/airflow_run_now_check.py | Secret Keyword | ad724bf2c2af6220a08b308539f9a3c1afc3cfd9 | dummy token, local stand-in
tests/bundle/test_bundle_config.py | AWS Access Key | 25910f981e85ca04baf359199dd0bd4a3ae738b6 | AWS's documented example key
tests/emulator/test_gateway_end_to_end.py | Secret Keyword | dc724af18fbdd4e59189f5fe768a5f8311527050 | moto's dummy 'testing'
tests/emulator/test_gateway_end_to_end.py | Secret Keyword | 594a3a23e0955e7250d8ec7ac4068dc0909b2c30 | test API key, loopback
tests/emulator/test_gateway_fuzz.py | Secret Keyword | ca784a45e0b47291380a606f3c4495b13d5e3a4c | test API key, loopback gateway
tests/emulator/test_gateway_kafka_rest.py | Secret Keyword | fef341f85d87439e7d91a2d465b9871ef66b5e98 | test API key, loopback
tests/emulator/test_gateway_kinesis.py | Secret Keyword | dc724af18fbdd4e59189f5fe768a5f8311527050 | moto's dummy 'testing'
tests/emulator/test_post.py | Secret Keyword | dff6d4ff5dc357cf451d1855ab9cbda562645c9f | test API key, loopback server
tests/infra/conftest.py | Secret Keyword | dc724af18fbdd4e59189f5fe768a5f8311527050 | moto's dummy 'testing', forced over any real ones
"""
ALLOWED = {
    tuple(part.strip() for part in line.split("|")[:3]): line.split("|")[3].strip()
    for line in ALLOWED_TABLE.strip().splitlines()
}


def scan(*paths: str, root: Path) -> set[tuple[str, str, str]]:
    """(file, detector, hash) of every finding of detect-secrets' default plugins and filters."""
    secrets = SecretsCollection(root=str(root))
    with default_settings():
        secrets.scan_files(*paths, num_processors=1)
    return {(name, s.type, s.secret_hash) for name, found in secrets.data.items() for s in found}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and (REPO / name).is_file()]


def test_no_tracked_file_holds_a_secret():
    files = tracked_files()
    assert any(name.startswith("notebooks/") for name in files) and "README.md" in files
    findings = scan(*files, root=REPO)
    assert findings - ALLOWED.keys() == set(), (
        "secrets in tracked files (remove them, or allow with a reason)"
    )
    assert ALLOWED.keys() - findings == set(), (
        "allowed findings that are no longer there: drop them from ALLOWED"
    )


def test_the_scan_finds_a_planted_aws_key(tmp_path):
    rng = random.SystemRandom()
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    (tmp_path / "notebooks").mkdir()
    planted = tmp_path / "notebooks" / "job.py"
    planted.write_text(
        f'# Databricks notebook source\nspark.conf.set("fs.s3a.access.key", "{key_id}")\n'
        f'aws_secret_access_key = "{secret}"\n',
        encoding="utf-8",
    )
    (tmp_path / "clean.py").write_text('region = "us-east-1"\n', encoding="utf-8")
    findings = scan("notebooks/job.py", "clean.py", root=tmp_path)
    assert ("notebooks/job.py", "AWS Access Key") in {(name, kind) for name, kind, _ in findings}
    # The secret itself, by whichever detector sees it first: the keyword detector, or the entropy detector for a
    # secret that starts with "/" or "+" (as about one in twenty do).
    assert ("notebooks/job.py", hashlib.sha1(secret.encode()).hexdigest()) in {(n, h) for n, _, h in findings}
    assert not any(name == "clean.py" for name, _, _ in findings)
