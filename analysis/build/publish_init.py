"""Make a checkout of the `gh-pages` branch to publish into, on a fresh clone as on a later one.

`quarto publish gh-pages` is not used: it needs a `gh-pages` branch on the remote already (with
`--no-prompt` it refuses), re-renders the site outside the Makefile (without the project's Python),
and on failure leaves a `git stash` entry and another branch checked out in the work tree.

This command (`make publish-init GH_PAGES=../gh-pages`) adds DIR as a linked work tree of the
project's own repository (`git worktree add`), checked out on `gh-pages`:

- when the branch exists (locally or as `origin/gh-pages`), on it;
- otherwise on a new branch without any commit: the first `make publish` makes its first commit,
  and `git -C DIR push origin gh-pages` creates it on the remote.

The user's work tree is never switched to another branch and nothing is stashed.  A linked work tree
shares the repository's remotes and credentials (as the release workflow's checkout has them), so
the push needs nothing more.  DIR must not exist yet, or already be such a checkout (then nothing
is done).

    python -m analysis.build publish-init ../gh-pages [--project DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from analysis.build.publish import PUBLISH_BRANCH, PublishError, GIT_LOCATION_VARIABLES, open_checkout


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARIABLES}
    result = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise PublishError(f"git {args[0]} failed in {cwd}: {result.stderr.strip()}")
    return result


def _has_ref(project: Path, ref: str) -> bool:
    return _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).returncode == 0


def init_checkout(target: str | Path, project: str | Path = ".") -> str:
    """Create the gh-pages checkout at `target`; return what was done, in one sentence."""
    target, project = Path(target).absolute(), Path(project).absolute()
    inside = _git(project, "rev-parse", "--show-toplevel", check=False)
    if inside.returncode != 0:
        raise PublishError(f"{project} is not a git work tree: run this in a clone of the report's repository")
    if target.exists():
        open_checkout(target)  # refuses, with its reason, anything but a checkout of gh-pages
        return f"{target} is already a checkout of {PUBLISH_BRANCH}: nothing to do"
    if _has_ref(project, f"refs/heads/{PUBLISH_BRANCH}"):
        _git(project, "worktree", "add", "--quiet", str(target), PUBLISH_BRANCH)
        return f"checked out the existing branch {PUBLISH_BRANCH} in {target}"
    if _has_ref(project, f"refs/remotes/origin/{PUBLISH_BRANCH}"):
        _git(project, "worktree", "add", "--quiet", "-b", PUBLISH_BRANCH, str(target), f"origin/{PUBLISH_BRANCH}")
        return f"checked out {PUBLISH_BRANCH} from origin in {target}"
    # No such branch anywhere this clone knows of: a new work tree on a branch without commits.
    # (`git worktree add --orphan` needs git 2.42; this works with older ones.)
    _git(project, "worktree", "add", "--quiet", "--detach", "--no-checkout", str(target))
    _git(target, "symbolic-ref", "HEAD", f"refs/heads/{PUBLISH_BRANCH}")  # no file checked out, none to remove
    return (f"created {target} on a new branch {PUBLISH_BRANCH} (no commit yet): the first make publish commits "
            f"the first release, and git -C {target} push origin {PUBLISH_BRANCH} creates the branch on the remote")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build publish-init", description=__doc__.splitlines()[0])
    parser.add_argument("target", help=f"the folder of the {PUBLISH_BRANCH} checkout, e.g. ../{PUBLISH_BRANCH}")
    parser.add_argument("--project", default=".", help="a work tree of the report's repository (default: here)")
    args = parser.parse_args(argv)
    try:
        print(init_checkout(args.target, args.project))
    except PublishError as error:
        print(f"publish-init: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
