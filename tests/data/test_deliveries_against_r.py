"""Registry deliveries against R on the same file: months read as written give R's numbers.

`tests/reference/deliveries_reference.R` reads the committed months delivery
(`data/synthetic/deliveries/months_pairs.csv`, fractional months with (time, indicator) pairs),
derives the endpoints from its pairs and computes Kaplan-Meier, cumulative incidence, log-rank,
Gray's test, Cox and Fine-Gray in R; `studies/months_pairs.yml` must give the same numbers through
`estimates` and `model`.  A study in months feeds its months straight through (no day in between),
so the numbers agree to floating-point rounding.  With R installed, a public competing-risks data
set in months (timereg's `bmt`, one status column, no id column) is checked too, as R delivers it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import pytest

from analysis.cli.main import main
from analysis.data.paths import PROJECT_ROOT

R_SCRIPT = PROJECT_ROOT / "tests" / "reference" / "deliveries_reference.R"
R_VALUES = PROJECT_ROOT / "tests" / "reference" / "deliveries_reference.json"
REFERENCE = json.loads(R_VALUES.read_text())
STUDY = PROJECT_ROOT / "studies" / "months_pairs.yml"
TOLERANCE = 1e-12  # relative (absolute below 1): measured 1e-15 for the estimates, 1e-14 for the models


def assert_same(ours, theirs, path="") -> None:
    """The same keys, lists and texts; every number within TOLERANCE."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) >= set(theirs), path
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float) or isinstance(ours, float):
        assert ours is not None and theirs is not None, f"{path}: {ours} vs {theirs}"
        assert abs(ours - theirs) <= TOLERANCE * max(1.0, abs(theirs)), f"{path}: {ours!r} vs {theirs!r}"
    else:
        assert ours == theirs, f"{path}: {ours!r} vs {theirs!r}"


def run(capsys, *args) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_months_delivery_estimates_equal_r(capsys, monkeypatch):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    ours = run(capsys, "estimates", "--study", str(STUDY), "--by", "phase", "--times", "12,60")
    assert_same(ours, REFERENCE["estimates"])


@pytest.mark.parametrize("case", REFERENCE["models"], ids=lambda c: c["args"][1] + " " + c["args"][3])
def test_months_delivery_models_equal_r(case, capsys, monkeypatch):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    ours = run(capsys, "model", "--study", str(STUDY), *case["args"])
    expected = case["expected"]
    assert (ours["n"], ours["events"]) == (expected["n"], expected["events"])
    assert_same(ours["terms"], expected["terms"])
    for name, test in expected["tests"].items():
        assert (ours["tests"][name] is None) == (test is None), name
        if test is not None:
            assert_same(ours["tests"][name], test, name)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_deliveries_reference_values_are_current_against_r(tmp_path):
    fresh = tmp_path / "fresh.json"
    subprocess.run(["Rscript", str(R_SCRIPT), str(fresh)], cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=300)
    assert_same(json.loads(fresh.read_text()), REFERENCE)


TIMEREG_STUDY = """\
    data: bmt.csv
    time_unit: months
    reproduce: none
    horizons: [12, 36]
    groupings: [tcell]
    covariates: [tcell, platelet, age_scaled]
    mapping:
      ids: row
      status:
        column: cause
        time: time
        codes: {0: censored, 1: death_without_relapse, 2: relapse}
      extra:
        tcell: {type: categorical, levels: [0, 1], label: "T-cell depleted graft"}
        platelet: {type: categorical, levels: [0, 1], label: "Platelets above 100 x 10^9/L"}
        age_scaled: {column: age, type: numeric, unit: 15 years, label: "Age, (age - 35) / 15"}
      unavailable: [age, sex, status_at_hct, graft_source, donor_type, conditioning]
    """


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_a_status_column_in_months_as_r_delivers_it_equals_r(tmp_path, capsys):
    """timereg's bmt (408 patients; `cause` 0 censored, 1 death from treatment-related causes,
    2 relapse; `time` in months; no id column; age centred and scaled), written unchanged by R,
    read through a study file alone: relapse and non-relapse mortality by T-cell depletion and a
    Fine-Gray model equal cmprsk's."""
    r_code = f"""
        suppressPackageStartupMessages({{library(timereg); library(cmprsk)}}); data(bmt)
        write.table(bmt, "{tmp_path / 'bmt.csv'}", sep = ",", quote = FALSE, row.names = FALSE)
        nrm <- cuminc(bmt$time, bmt$cause, bmt$tcell, cencode = 0)
        tp <- timepoints(nrm, c(12, 36))
        fg <- crr(bmt$time, bmt$cause, cbind(bmt$tcell, bmt$platelet, bmt$age), failcode = 2, cencode = 0)
        cat(sprintf("%.17g", c(tp$est["0 2", ], tp$est["1 2", ], tp$est["0 1", ], tp$est["1 1", ],
                               nrm$Tests["2", "stat"], nrm$Tests["1", "stat"], fg$coef, sqrt(diag(fg$var)))))
    """
    values = subprocess.run(["Rscript", "-e", r_code], capture_output=True, text=True, timeout=120, check=True)
    r = [float(v) for v in values.stdout.split()]
    (tmp_path / "study.yml").write_text(textwrap.dedent(TIMEREG_STUDY), encoding="utf-8")
    study = str(tmp_path / "study.yml")
    estimates = run(capsys, "estimates", "--study", study, "--by", "tcell", "--times", "12,36")
    assert estimates["n"] == 408
    relapse, nrm = estimates["endpoints"]["relapse"], estimates["endpoints"]["nrm"]
    ours = [relapse["groups"][g]["at"][t]["estimate"] for g in ("0", "1") for t in ("12", "36")]
    ours += [nrm["groups"][g]["at"][t]["estimate"] for g in ("0", "1") for t in ("12", "36")]
    ours += [relapse["test"]["statistic"], nrm["test"]["statistic"]]
    model = run(capsys, "model", "--study", study, "--endpoint", "relapse", "--method", "finegray",
                "--covariates", "tcell,platelet,age_scaled")
    assert [t["term"] for t in model["terms"]] == ["tcell[1]", "platelet[1]", "age_scaled"]
    ours += [t["coef"] for t in model["terms"]] + [t["se"] for t in model["terms"]]
    assert_same(ours, r)
