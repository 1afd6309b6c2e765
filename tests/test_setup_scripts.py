"""The setup commands fail with one clear line when a prerequisite is missing."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(command, env_updates, tmp_path):
    env = dict(os.environ, **env_updates)
    return subprocess.run(
        [
            str(REPO / "setup" / command),
            *(["--no-demo-db"] if command == "install" else []),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def python_without_odoo(tmp_path):
    """A python3 that cannot import odoo (site-packages disabled)."""
    wrapper = tmp_path / "python-no-odoo"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.parametrize("command", ["install", "test", "run", "demo"])
def test_missing_odoo_is_named(command, python_without_odoo, tmp_path):
    result = run(command, {"PYTHON": python_without_odoo}, tmp_path)
    assert result.returncode != 0
    assert "Odoo 18.0 is not importable" in result.stderr


def test_wrong_odoo_series_is_named(tmp_path):
    fake = tmp_path / "fake" / "odoo"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "release.py").write_text(textwrap.dedent("version = '17.0'\n"))
    result = run("install", {"PYTHONPATH": str(fake.parent)}, tmp_path)
    assert result.returncode != 0
    assert "imports Odoo 17.0" in result.stderr
    assert "18.0 series" in result.stderr


def test_unreachable_postgres_is_named(tmp_path):
    result = run("test", {"PGHOST": str(tmp_path / "no-socket-here")}, tmp_path)
    assert result.returncode != 0
    assert "PostgreSQL is not reachable" in result.stderr
