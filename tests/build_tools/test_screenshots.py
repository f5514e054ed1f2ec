"""The README's figure and table are what `python -m analysis.build screenshots` draws, byte for byte."""
import pytest

from analysis.build import screenshots
from analysis.data.paths import PROJECT_ROOT

pytest.importorskip("typst")


@pytest.mark.slow
def test_the_readme_pictures_are_drawn_again_identically(tmp_path):
    assert screenshots.main([str(tmp_path)]) == 0
    for name in (screenshots.FIGURE, screenshots.TABLE):
        committed = PROJECT_ROOT / "docs" / name
        assert committed.exists(), f"docs/{name} is not committed"
        assert (tmp_path / name).read_bytes() == committed.read_bytes(), f"docs/{name} differs from what the command draws"
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"(docs/{screenshots.FIGURE})" in readme and f"(docs/{screenshots.TABLE})" in readme
