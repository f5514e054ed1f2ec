"""The optional sections a study's data allow, written for Quarto before every render."""
import subprocess
import sys

import pytest
import yaml

from analysis.data.paths import PROJECT_ROOT
from analysis.analyses.landmark import (cr_after_hct_available, cr_after_hct_comparison, gvhd_effects,
                                        gvhd_states_available)
from analysis.data.cohort import load_cohort
from analysis.build.sections import PAGES_FILE, SECTIONS_FILE, section_flags, study_section_flags, write_sections
from analysis.analyses.transplant import transplant_outcomes

SYNTHETIC = PROJECT_ROOT / "data" / "synthetic" / "ankl_cohort.csv"


def _cohort():
    return load_cohort(SYNTHETIC, synthetic=True).data


EVERY_SECTION = {"study-has-engraftment": True, "study-has-acute-gvhd": True, "study-has-chronic-gvhd": True,
                 "study-has-landmarks": True, "study-has-cr-after-hct": True, "study-records-gvhd": True,
                 "study-has-gvhd-states": True, "study-has-acute-gvhd-day100": True,
                 "study-has-landmark-series": True, "study-has-causes-of-death": True,
                 "study-has-record-changes": False}
LANDMARKS = (12,)
EVERY_ADJUSTED = {"study-has-adjusted": True, "study-has-adjusted-os": True, "study-has-adjusted-relapse": True,
                  "study-has-adjusted-nrm": True}


def test_the_synthetic_cohort_allows_every_section():
    assert section_flags(_cohort(), landmarks=LANDMARKS) == EVERY_SECTION
    assert not section_flags(_cohort())["study-has-landmarks"]  # a study without landmarks
    assert section_flags(_cohort(), landmarks=LANDMARKS, record_changes=True)["study-has-record-changes"] is True


def test_an_extract_without_optional_columns_allows_none(minimal_study, monkeypatch):
    monkeypatch.setenv("REPORT_STUDY", str(minimal_study))
    # adjusted probabilities need only the groupings and covariates, which such an extract has, and the
    # event-free landmark only overall survival and relapse
    assert study_section_flags() == {**{key: False for key in EVERY_SECTION}, "study-has-landmarks": True,
                                     "study-reproduces": False, **EVERY_ADJUSTED}


def test_sections_follow_the_recorded_columns():
    data = _cohort()
    no_acute = data.drop(columns=["agvhd_grade", "agvhd_months"])
    assert section_flags(no_acute, landmarks=LANDMARKS) == {
        **EVERY_SECTION, "study-has-acute-gvhd": False, "study-has-acute-gvhd-day100": False}
    no_chronic = data.drop(columns=["cgvhd", "cgvhd_months"])  # each GVHD needs only its own data
    assert section_flags(no_chronic, landmarks=LANDMARKS) == {
        **EVERY_SECTION, "study-has-chronic-gvhd": False, "study-has-landmark-series": False}
    no_engraftment = data.drop(columns=["neutrophil_engraftment", "neutrophil_engraftment_months",
                                        "platelet_engraftment", "platelet_engraftment_months"])
    assert section_flags(no_engraftment, landmarks=LANDMARKS) == {**EVERY_SECTION, "study-has-engraftment": False}
    no_causes = data.drop(columns=["cause_of_death"])
    assert section_flags(no_causes, landmarks=LANDMARKS) == {**EVERY_SECTION, "study-has-causes-of-death": False}


def test_a_comparison_of_too_few_patients_is_not_announced():
    """Fewer PIF patients with CR after HCT than the smallest group drawn: no section, no figure."""
    data = _cohort()
    assert section_flags(data, min_group=9)["study-has-cr-after-hct"]
    assert not section_flags(data, min_group=10)["study-has-cr-after-hct"]
    assert not cr_after_hct_comparison(data, min_group=10).compared


def test_flags_agree_with_the_analyses_they_announce():
    data = _cohort()
    nobody_reached_cr = data.assign(cr_after_hct_months=float("nan"))
    no_pif = data.assign(pif=0)
    no_chronic = data.drop(columns=[c for c in ("cgvhd", "cgvhd_any", "cgvhd_months") if c in data.columns])
    no_acute = data.drop(columns=["agvhd_grade", "agvhd_months"])
    for variant in (data, nobody_reached_cr, no_pif, data.drop(columns=["cr_after_hct_months"]), no_chronic, no_acute):
        assert cr_after_hct_available(variant) == (cr_after_hct_comparison(variant) is not None)
        assert gvhd_states_available(variant) == (gvhd_effects(variant) is not None)
        flags, shown = section_flags(variant), transplant_outcomes(variant)
        assert flags["study-has-acute-gvhd"] == bool(shown.acute_gvhd)
        assert flags["study-has-chronic-gvhd"] == bool(shown.chronic)
        gvhd = gvhd_effects(variant)
        assert flags["study-has-gvhd-states"] == bool(gvhd and gvhd.states)
    assert not cr_after_hct_available(nobody_reached_cr) and not cr_after_hct_available(no_pif)
    assert gvhd_states_available(no_chronic) and gvhd_effects(no_chronic).chronic is None


def test_written_as_directory_metadata_only_on_change(tmp_path):
    flags = {"study-has-cr-after-hct": False, "study-has-gvhd-states": True}
    assert write_sections(flags, tmp_path)
    assert yaml.safe_load((tmp_path / SECTIONS_FILE).read_text(encoding="utf-8")) == flags
    assert not write_sections(flags, tmp_path)  # unchanged: `quarto preview` does not re-render


def test_the_pre_render_script_runs_as_quarto_runs_it(tmp_path):
    """Quarto runs `analysis/build/prerender_sections.py` as a script with its own Python, from the project folder."""
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "analysis" / "build" / "prerender_sections.py"), "--root", str(tmp_path)],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "sections: study-has-engraftment yes," in result.stdout
    assert yaml.safe_load((tmp_path / SECTIONS_FILE).read_text(encoding="utf-8")) == {
        **EVERY_SECTION, "study-reproduces": True, **EVERY_ADJUSTED}
    assert yaml.safe_load((tmp_path / PAGES_FILE).read_text(encoding="utf-8")) == {"website": {"drafts": []}}


def test_a_bad_study_stops_the_render_with_its_message(tmp_path):
    study = tmp_path / "study.yml"
    study.write_text("data: missing.csv\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "analysis.build.sections", "--root", str(tmp_path)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "REPORT_STUDY": str(study)})
    assert result.returncode == 2 and result.stderr.startswith("sections: error:")
    assert not (tmp_path / SECTIONS_FILE).exists()


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
def test_adjusted_flags_agree_with_the_figures_they_announce():
    from dataclasses import replace

    from analysis.analyses.factors import adjusted_available, factor_comparisons
    from analysis.analyses.settings import load_study
    from analysis.present.figures.adjusted import plot_adjusted_comparisons

    settings = load_study(PROJECT_ROOT / "study.yml")
    cohort = load_cohort(SYNTHETIC, synthetic=True)
    data = cohort.data
    # Nobody relapsed: relapse cannot be adjusted for any grouping (no event), the others can.
    never_relapsed = data.assign(relapse=0, relapse_months=float("nan"))
    for variant in (data, never_relapsed):
        variant_cohort = replace(cohort, data=variant)
        available = adjusted_available(variant_cohort, settings)
        comparisons = factor_comparisons(variant_cohort, settings)
        for endpoint, flag in available.items():
            assert flag == (plot_adjusted_comparisons(comparisons, endpoint) is not None), endpoint
    assert not adjusted_available(replace(cohort, data=never_relapsed), settings)["relapse"]
