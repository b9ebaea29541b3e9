"""The dependency audit of the app environment (requirements/app.lock, what `make envs` installs):
pip-audit against PyPI's vulnerability data. The suite fails on a known vulnerability that has a
fixed version (upgrade the pin in app.lock); it skips, saying why, only when the vulnerability data
cannot be fetched from this machine.

The rasa environment is pinned by rasa 3.6 and cannot simply be upgraded: its findings and why each
one is or is not reachable here are in docs/security/rasa-env-audit.md.
"""

from __future__ import annotations

import json
import subprocess

import pytest

import settings

PIP_AUDIT = settings.ROOT / ".venv" / "app" / "bin" / "pip-audit"


def run_audit(lock: str) -> dict:
    command = [str(PIP_AUDIT), "--vulnerability-service", "pypi", "--requirement", lock, "--no-deps", "--disable-pip",
               "--format", "json", "--progress-spinner", "off", "--timeout", "30"]
    result = subprocess.run(command, cwd=settings.ROOT, capture_output=True, text=True, timeout=900)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        pytest.skip(f"pip-audit could not reach PyPI's vulnerability data: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout)


def test_the_app_environment_has_no_known_vulnerability_with_a_fix():
    assert PIP_AUDIT.exists(), "pip-audit is missing from .venv/app (make envs installs requirements/app.lock)"
    report = run_audit("requirements/app.lock")
    dependencies = report["dependencies"]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        reasons = {d["skip_reason"].split(":")[0] for d in dependencies}
        pytest.skip("PyPI's vulnerability data was not available for any of the "
                    f"{len(dependencies)} pinned packages ({'; '.join(sorted(reasons))}): "
                    "no audit was possible from this machine")
    fixable = [f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
               for d in audited for v in d.get("vulns", []) if v.get("fix_versions")]
    assert not fixable, "known vulnerabilities with a fix; upgrade these pins in requirements/app.lock:\n" + "\n".join(fixable)
