"""Style gates the developers' guide sets: no unused import or undefined name (ruff's pyflakes
rules), and rule files as snakefmt writes them. Both tools are pinned in the test extras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_no_unused_import_or_undefined_name():
    done = run(str(BIN / "ruff"), "check", "--isolated", "--select", "F", "--output-format", "concise",
               "workflow", "tools", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_files_are_snakefmt_clean():
    done = run(str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules")
    assert done.returncode == 0, done.stdout + done.stderr
