"""`python -m analysis model` end to end against R (coxph, tmerge, crr) on the synthetic cohort."""
import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from analysis.cli.main import main
from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.data.cohort import load_cohort
from analysis.analyses.models import design_matrix, fit_model, state_months
from analysis.domain.endpoints import endpoint_data
from analysis.domain.states import STATES
from analysis.stats.cox import cox_model

R_SCRIPT = PROJECT_ROOT / "tests" / "reference" / "models_reference.R"
R_VALUES = PROJECT_ROOT / "tests" / "reference" / "models_reference.json"
CASES = json.loads(R_VALUES.read_text())["cases"]
COEF_TOLERANCE = 1e-6   # coxph and crr coefficients
SE_TOLERANCE = 1e-5     # crr's robust SE (coxph agrees far closer)
P_TOLERANCE = 1e-6


def run_model(args, capsys):
    assert main(["model", str(SYNTHETIC_DATA), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_model_agrees(ours, expected, label):
    assert (ours["n"], ours["events"]) == (expected["n"], expected["events"]), label
    assert [t["term"] for t in ours["terms"]] == [t["term"] for t in expected["terms"]], label
    for mine, theirs in zip(ours["terms"], expected["terms"]):
        assert math.isclose(mine["coef"], theirs["coef"], abs_tol=COEF_TOLERANCE), (label, mine["term"])
        assert math.isclose(mine["se"], theirs["se"], abs_tol=SE_TOLERANCE), (label, mine["term"])
        for field in ("hr", "lower", "upper"):
            assert math.isclose(mine[field], theirs[field], rel_tol=1e-5), (label, mine["term"], field)
        assert math.isclose(mine["p"], theirs["p"], abs_tol=P_TOLERANCE), (label, mine["term"])
    for name, test in expected["tests"].items():
        if test is None:
            assert ours["tests"][name] is None, (label, name)
            continue
        assert ours["tests"][name]["df"] == test["df"], (label, name)
        assert math.isclose(ours["tests"][name]["statistic"], test["statistic"], rel_tol=1e-6), (label, name)
        assert math.isclose(ours["tests"][name]["p"], test["p"], abs_tol=P_TOLERANCE), (label, name)


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c["args"][1::2][:1] + c["args"][3::2]) for c in CASES])
def test_model_command_against_r(case, capsys):
    assert_model_agrees(run_model(case["args"], capsys), case["expected"], " ".join(case["args"]))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_model_reference_values_are_current_against_r(tmp_path):
    fresh = tmp_path / "fresh.json"
    subprocess.run(["Rscript", str(R_SCRIPT), str(fresh)], cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=300)
    for new, old in zip(json.loads(fresh.read_text())["cases"], CASES):
        assert new["args"] == old["args"]
        assert_model_agrees(new["expected"], old["expected"], " ".join(old["args"]))


@pytest.fixture(scope="module")
def data():
    return load_cohort(SYNTHETIC_DATA).data


def test_dummy_coding_uses_spec_reference_levels_by_hand(data):
    design = design_matrix(data.head(6), ["graft_source", "sex", "age"])
    expected_terms = [f"graft_source[{g}]" for g in ("PB", "BM") if g in set(data.head(6)["graft_source"])]
    expected_terms += ["sex[F]"] if {"M", "F"} <= set(data.head(6)["sex"]) else []
    assert list(design.matrix.columns) == [*expected_terms, "age"]
    assert design.references["graft_source"] == "CB"
    first = data.head(6)
    for term in expected_terms:
        column, level = term[:-1].split("[")
        np.testing.assert_array_equal(design.matrix[term], (first[column] == level).astype(float))


def test_landmark_at_zero_equals_the_full_cohort(data):
    full = fit_model(data, "os", "cox", ["graft_source", "age"])
    at_zero = fit_model(data, "os", "cox", ["graft_source", "age"], landmark=0)
    np.testing.assert_allclose([t.coef for t in at_zero.terms], [t.coef for t in full.terms], rtol=1e-12)
    assert at_zero.n == full.n


def test_missing_covariates_are_excluded_with_a_reason(data):
    result = fit_model(data, "os", "cox", ["ps"])
    assert result.n == int(data["ps"].notna().sum())
    assert ("covariate missing", int(data["ps"].isna().sum())) in result.exclusions


@pytest.mark.parametrize("kwargs, message", [
    (dict(endpoint="os", method="finegray", covariates=["age"]), "no competing event"),
    (dict(endpoint="relapse", method="finegray", covariates=["age"], time_dependent="agvhd"), "only at a landmark"),
    (dict(endpoint="os", method="cox", covariates=["graft_source"], reference={"graft_source": "XX"}), "not in the data"),
    (dict(endpoint="os", method="cox", covariates=["shoe_size"]), "unknown covariate"),
    (dict(endpoint="os", method="cox", covariates=[]), "no covariate"),
])
def test_invalid_models_are_clear_errors(data, kwargs, message):
    with pytest.raises((ValueError, KeyError), match=message):
        fit_model(data, **kwargs)


def test_the_last_design_of_a_frame_is_kept_with_it():
    # The multivariable chapter codes the same covariates of the same patients for each of its models:
    # the second asks for the design the first made; other covariates, or another frame, get their own.
    frame = load_cohort(SYNTHETIC_DATA).data
    first = design_matrix(frame, ("status_at_hct", "age"))
    assert design_matrix(frame, ["status_at_hct", "age"]) is first
    assert design_matrix(frame, ("status_at_hct", "age"), {"status_at_hct": "PR"}) is not first
    assert design_matrix(frame.copy(), ("status_at_hct", "age")).matrix.equals(first.matrix)
    with pytest.raises(ValueError, match="read-only"):
        first.complete[0] = False


def test_state_onsets_are_kept_with_the_frame_and_a_landmark_model_reads_them():
    # The landmark chapter reads each state's onsets for its Cox model, its curves and every landmark
    # of its series: found once per frame (read-only); a landmark model's state, taken from the
    # whole frame's onsets, is the one its own rows give.
    frame = load_cohort(SYNTHETIC_DATA).data
    onsets = state_months(frame, "cgvhd")
    assert state_months(frame, "cgvhd") is onsets and not onsets.flags.writeable
    np.testing.assert_array_equal(onsets, STATES["cgvhd"].onset(frame).time)
    some = frame.loc[frame["graft_source"] != "PB"].reset_index(drop=True)
    at_six = fit_model(some, "os", "cox", [], time_dependent="cgvhd", landmark=6.0)
    os_data = endpoint_data(some, "os")
    followed = os_data.time > 6.0
    began = (STATES["cgvhd"].onset(some).time[os_data.included][followed] <= 6.0).astype(float)
    expected = cox_model(os_data.time[followed] - 6.0, (os_data.status[followed] == 1).astype(int), {"cgvhd": began})
    assert at_six.term("cgvhd").coef == expected.terms[0].coef


def test_a_model_without_its_proportional_hazards_test():
    # The landmark series reads only the state's hazard ratio of each landmark's model: no cox.zph.
    frame = load_cohort(SYNTHETIC_DATA).data
    tested = fit_model(frame, "os", "cox", ["age"])
    untested = fit_model(frame, "os", "cox", ["age"], ph_test=False)
    assert tested.ph_test is not None and untested.ph_test is None
    assert untested.term("age").coef == tested.term("age").coef
