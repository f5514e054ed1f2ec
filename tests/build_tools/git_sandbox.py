"""Git for the publishing tests: no user or system configuration, a fixed identity, one helper to run it."""
import subprocess
from pathlib import Path


def sandbox_git(monkeypatch, folder: Path, name: str = "Test Publisher", email: str = "publisher@example.org") -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(folder / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", name)
        monkeypatch.setenv(f"GIT_{who}_EMAIL", email)


def git(*args, cwd) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout
