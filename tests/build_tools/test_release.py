"""Which study a release renders (the workflow refuses one whose data it lacks) and the gh-pages checkout
that `make publish-init` makes on a fresh clone, without touching the user's work tree."""
from pathlib import Path

import pytest
import yaml

from analysis.build.publish import PublishError
from analysis.build.publish_init import init_checkout
from analysis.build.release import ReleaseStudyError, check_release_data, main, release_study
from tests.build_tools.git_sandbox import git, sandbox_git

ROOT = Path(__file__).resolve().parents[2]


def project(tmp_path: Path, study: str | None, data: str = "data/private/extract.csv") -> Path:
    root = tmp_path / "project"
    (root / "studies").mkdir(parents=True)
    tool = f'\n[tool.report]\nrelease-study = "{study}"\n' if study else ""
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n' + tool)
    (root / "study.yml").write_text("data: data/synthetic/cohort.csv\n")
    (root / "studies" / "private.yml").write_text(f"data: ../{data}\n")
    return root


def test_the_release_study_is_named_in_pyproject(tmp_path):
    assert release_study(project(tmp_path, None)) == "study.yml"
    assert release_study(project(tmp_path / "b", "studies/private.yml")) == "studies/private.yml"
    assert release_study(ROOT) == "study.yml"  # this project's releases render the committed synthetic cohort


def test_a_release_of_private_data_is_refused_with_a_message(tmp_path, capsys):
    root = project(tmp_path, "studies/private.yml")
    with pytest.raises(ReleaseStudyError, match=r"renders the study studies/private\.yml, whose data "
                                                r"data/private/extract\.csv are not in this checkout"):
        check_release_data(root)
    assert main(["--check", "--root", str(root)]) == 1
    assert "publish it from the machine that holds the data" in capsys.readouterr().err
    (root / "data" / "private").mkdir(parents=True)
    (root / "data" / "private" / "extract.csv").write_text("patient_id\n")
    assert check_release_data(root) == "studies/private.yml"  # on the analyst's machine


def test_the_workflow_checks_the_release_study_before_rendering():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["publish"]["steps"]]
    assert commands.index("make release-check") < commands.index("make report-ci")
    assert "make publish-init GH_PAGES=gh-pages" in commands
    assert not any("quarto publish" in c for c in commands)


@pytest.fixture
def clone(tmp_path, monkeypatch):
    sandbox_git(monkeypatch, tmp_path)
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    work = tmp_path / "work"
    git("clone", "--quiet", str(origin), str(work), cwd=tmp_path)
    (work / "notes.txt").write_text("uncommitted work of the user\n")
    (work / "README").write_text("x\n")
    git("add", "README", cwd=work)
    git("commit", "--quiet", "-m", "one", cwd=work)
    git("push", "--quiet", "origin", "HEAD", cwd=work)
    return origin, work


def test_on_a_fresh_clone_publish_init_makes_a_new_branch_beside_the_work_tree(clone, tmp_path):
    origin, work = clone
    branch = git("branch", "--show-current", cwd=work)
    message = init_checkout(tmp_path / "gh-pages", work)
    assert "new branch gh-pages" in message
    assert sorted(p.name for p in (tmp_path / "gh-pages").iterdir()) == [".git"]
    assert git("status", "--porcelain", "--ignored", cwd=tmp_path / "gh-pages") == ""
    assert git("branch", "--show-current", cwd=tmp_path / "gh-pages").strip() == "gh-pages"
    # The user's work tree: same branch, nothing stashed, the uncommitted file untouched.
    assert git("branch", "--show-current", cwd=work) == branch and git("stash", "list", cwd=work) == ""
    assert (work / "notes.txt").read_text() == "uncommitted work of the user\n"
    assert "already a checkout" in init_checkout(tmp_path / "gh-pages", work)


def test_publish_init_checks_out_the_remote_branch_when_there_is_one(clone, tmp_path):
    origin, work = clone
    other = tmp_path / "other"
    git("clone", "--quiet", str(origin), str(other), cwd=tmp_path)
    git("checkout", "--quiet", "--orphan", "gh-pages", cwd=other)
    git("rm", "-r", "--quiet", "--cached", ".", cwd=other)
    (other / "index.html").write_text("published\n")
    git("add", "index.html", cwd=other)
    git("commit", "--quiet", "-m", "published", cwd=other)
    git("push", "--quiet", "origin", "gh-pages", cwd=other)
    fresh = tmp_path / "fresh"
    git("clone", "--quiet", str(origin), str(fresh), cwd=tmp_path)
    assert "from origin" in init_checkout(tmp_path / "pages", fresh)
    assert (tmp_path / "pages" / "index.html").read_text() == "published\n"


def test_publish_init_refuses_a_folder_that_is_not_a_gh_pages_checkout(clone, tmp_path):
    _, work = clone
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter.tex").write_text("mine")
    with pytest.raises(PublishError, match="is not a git work tree"):
        init_checkout(tmp_path / "thesis", work)
    assert (tmp_path / "thesis" / "chapter.tex").read_text() == "mine"
