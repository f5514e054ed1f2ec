"""Which Quarto `make report` renders with: fake `quarto` executables on PATH, no network."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.build import quarto as finder
from analysis.data.paths import PROJECT_ROOT


def fake_quarto(folder: Path, version: str | None) -> Path:
    """An executable `quarto` that prints `version` (or fails, when None)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "quarto"
    body = f'echo "{version}"' if version is not None else "exit 3"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


@pytest.fixture
def warnings_seen():
    return []


def find(venv: Path, warnings_seen: list[str], **options) -> Path:
    return finder.find_quarto(venv, warn=warnings_seen.append, **options)


def test_a_current_quarto_on_path_is_used_without_a_word(tmp_path, monkeypatch, warnings_seen):
    on_path = fake_quarto(tmp_path / "bin", "1.10.18")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find(tmp_path / "venv", warnings_seen, install=False) == on_path
    assert warnings_seen == []


def test_an_older_but_sufficient_quarto_is_used_with_a_warning(tmp_path, monkeypatch, warnings_seen):
    on_path = fake_quarto(tmp_path / "bin", "1.6.40")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find(tmp_path / "venv", warnings_seen, install=False) == on_path
    assert len(warnings_seen) == 1 and "1.6.40" in warnings_seen[0] and "1.10" in warnings_seen[0]


@pytest.mark.parametrize("version", ["1.4.550", None])
def test_a_too_old_or_broken_quarto_is_passed_over(tmp_path, monkeypatch, warnings_seen, version):
    fake_quarto(tmp_path / "bin", version)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(finder.QuartoUnavailable) as raised:
        find(tmp_path / "venv", warnings_seen, install=False)
    assert "Ignoring" in warnings_seen[0] and ">= 1.5" in warnings_seen[0]
    assert "quarto.org" in str(raised.value) and "internet" in str(raised.value)


def test_the_quarto_installed_in_the_venv_is_used_when_none_is_on_path(tmp_path, monkeypatch, warnings_seen):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    in_venv = fake_quarto(tmp_path / "venv" / "bin", "1.10.19")
    assert find(tmp_path / "venv", warnings_seen) == in_venv


def test_path_wins_over_the_venv(tmp_path, monkeypatch, warnings_seen):
    on_path = fake_quarto(tmp_path / "bin", "1.10.18")
    fake_quarto(tmp_path / "venv" / "bin", "1.10.19")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find(tmp_path / "venv", warnings_seen) == on_path


def test_the_pin_lives_with_the_other_pins():
    assert finder.pinned_requirement().startswith("quarto-cli==1.10.")
    assert finder.PIN_FILE.parent == PROJECT_ROOT and finder.PIN_FILE.name.startswith("requirements")


def _tree(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


@pytest.mark.slow
def test_a_failing_install_ends_with_one_message_and_leaves_the_venv_as_it_was(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    before = _tree(venv)
    (tmp_path / "empty").mkdir()
    # No index at all: pip fails as it does where PyPI answers but GitHub (the Quarto binary) does not.
    environment = {**os.environ, "PATH": str(tmp_path / "empty"), "PIP_CONFIG_FILE": os.devnull,
                   "PIP_NO_INDEX": "1"}
    run = subprocess.run([sys.executable, "-m", "analysis.build", "quarto", "--venv", str(venv)], cwd=PROJECT_ROOT,
                         env=environment, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    message = run.stderr.strip().splitlines()[-1]
    assert message.startswith("Installing quarto-cli==1.10.") and "failed" in message
    assert "https://quarto.org" in message and "internet access" in message
    assert _tree(venv) == before
