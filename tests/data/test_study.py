"""Study configurations: parsing and checking study.yml, inclusion criteria and the exclusion
flow, columns a study declares unavailable, the second study on R's public bmt data, and
identical numbers from the same input."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.data.cohort import load_cohort
from analysis.data.inclusion import Criterion
from analysis.data.problems import DataValidationError
from analysis.analyses.settings import load_study
from analysis.data.mapping import Mapping
from analysis.data.study import study_cohort
from registry_exports import synthetic_text_table

STUDIES = PROJECT_ROOT / "studies"


def write_study(tmp_path, text: str, name="study.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the configuration files


def test_the_default_study_reads_the_synthetic_cohort_strictly(monkeypatch):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    study = load_study(PROJECT_ROOT / "study.yml")
    assert study.data == SYNTHETIC_DATA and study.synthetic is True
    assert study.horizons == (12, 60) and study.landmarks == (12,) and study.min_cell == 0
    assert study.mapping == Mapping() and study.include == () and study.unavailable == ()
    assert study.reproduce == "fujimoto2021"
    cohort = study_cohort(study)
    assert cohort.n == cohort.n_records == 59 and cohort.exclusions == ()


@pytest.mark.parametrize("name", sorted(p.name for p in STUDIES.glob("*.yml")))
def test_every_shipped_study_file_is_valid(name, monkeypatch):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    study = load_study(STUDIES / name)
    assert study.title and study.reproduce is None
    folder = study.data.resolve().relative_to(PROJECT_ROOT / "data").parts[0]
    # real extracts live in data/private/ (git-ignored); committed examples are synthetic
    assert folder == "private" or (folder == "synthetic" and study.synthetic is True)


def test_bmt_study_settings():
    study = load_study(STUDIES / "bmt.yml")
    assert study.title == "Bone marrow transplants for acute leukaemia (Klein & Moeschberger)"
    assert study.horizons == (12, 36) and study.groupings == ("disease",) and study.synthetic is False
    assert study.mapping.constants == {"graft_source": "BM", "donor_type": "related", "conditioning": "MAC"}
    assert study.unavailable == ("status_at_hct",) and study.mapping.ids == "row" and study.mapping.time_unit == "days"


def test_every_problem_of_a_study_file_is_reported_at_once(tmp_path, study_problems):
    path = write_study(tmp_path, """\
        data: x.csv
        horizons: [12, -1]
        colour: blue
        privacy: {min_cell: -5}
        groupings: [status_crpr_vs_nr, shoe_size]
        include: {age_min: old, disease: [], sex: [X], weight_max: 90}
        mapping:
          columns: {性別: sex, 年齢: age_years, 性: sex}
          codes: {graft_source: {臍帯血: cord}}
          constants: {hct_date: 2010-01-01, donor_type: sibling}
          unavailable: [patient_id, status_at_hct]
        """)
    text = study_problems(path)
    for expected in [
        "line 3: colour: unknown setting",
        "line 2: horizons: every value must be a number of months above 0 and at most 600, got [12, -1]",
        "line 4: privacy.min_cell: expected a whole number >= 0, got -5",
        "groupings: 'shoe_size' is not a SPEC column",
        "groupings: 'status_at_hct' is declared unavailable in the study (mapping.unavailable) "
        "(grouping status_crpr_vs_nr uses status_at_hct)",
        "include.age_min: expected a number, got 'old'",
        "include.disease: expected a list of values",
        "include.sex: X not a code of sex",
        "include.weight_max: not a column a study can select on",
        "mapping.columns: '年齢' maps to 'age_years', which is not a SPEC column",
        "mapping.columns: '性別', '性' all map to sex",
        "mapping.codes.graft_source: cord not a code of graft_source",
        "mapping.constants: hct_date cannot be the same for every record",
        "mapping.constants.donor_type: 'sibling' is not a code of donor_type",
        "mapping.unavailable: patient_id is needed by every endpoint and cannot be unavailable",
    ]:
        assert expected in text, expected


def test_inclusion_criteria_keep_the_study_file_order(tmp_path):
    path = write_study(tmp_path, """\
        data: cohort.csv
        include:
          disease: [ANKL]
          age_min: 16
          age_max: 65
          hct_year_min: 2001
        """)
    study = load_study(path)
    assert study.include == (Criterion("disease", ("ANKL",)), Criterion("age", (), 16, 65),
                             Criterion("hct_year", (), 2001, None))
    assert [c.describe() for c in study.include] == ["disease: ANKL", "age at HCT ≥ 16, age at HCT ≤ 65", "year of HCT ≥ 2001"]


# --------------------------------------------------------------------------- the exclusion flow


def test_the_flow_counts_every_record_once(tmp_path):
    table = synthetic_text_table()
    table.loc[0, "disease"] = "CAEBV"          # another diagnosis
    table.loc[1, "disease"] = ""               # not recorded
    table.loc[2, "age"] = "15"                 # a child
    table.loc[3, ["age", "disease"]] = ["12", "CAEBV"]  # fails two criteria: counted under the first
    table.loc[4, "hct_year"] = ""              # derived from hct_date: still 2001
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    cohort = load_cohort(path, include=(Criterion("disease", ("ANKL",)), Criterion("age", (), 16, None)))
    assert cohort.exclusions == (("disease not recorded", 1), ("disease other than ANKL", 2), ("age at HCT below 16", 1))
    assert cohort.n == 55 and cohort.n_records == 59 and cohort.n_excluded == 4
    assert cohort.flow == (("Records in the extract", 59, False), ("disease not recorded", 1, True),
                           ("disease other than ANKL", 2, True), ("age at HCT below 16", 1, True), ("Patients analysed", 55, False))
    assert cohort.criteria == ("disease: ANKL", "age at HCT ≥ 16")
    assert not {"SYN001", "SYN002", "SYN003", "SYN004"} & set(cohort.data["patient_id"])


def test_invalid_records_are_never_excluded_quietly(tmp_path):
    table = synthetic_text_table()
    table.loc[0, ["age", "sex"]] = ["12", "X"]  # outside the criteria, and invalid: the error stops the run
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="column sex: unknown code"):
        load_cohort(path, include=(Criterion("age", (), 16, None),))


def test_a_criterion_on_a_column_the_extract_lacks_is_an_error(tmp_path):
    table = synthetic_text_table().drop(columns="disease")
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="inclusion criterion on a column the extract does not have"):
        load_cohort(path, include=(Criterion("disease", ("ANKL",)),))


# --------------------------------------------------------------------------- unavailable columns


def test_a_required_column_is_only_optional_when_the_study_declares_it_unavailable(tmp_path):
    table = synthetic_text_table().drop(columns=["status_at_hct", "pif"])
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="column status_at_hct: required column is missing"):
        load_cohort(path)
    cohort = load_cohort(path, mapping=Mapping(unavailable=("status_at_hct",)))
    assert cohort.n == 59 and "status_at_hct" not in cohort.data


def test_constants_supply_a_column_the_registry_lacks(tmp_path):
    table = synthetic_text_table()
    table = table[table["conditioning"] == "MAC"].drop(columns="conditioning")
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    cohort = load_cohort(path, mapping=Mapping(constants={"conditioning": "MAC"}))
    assert set(cohort.data["conditioning"]) == {"MAC"} and cohort.n == len(table)


def test_missing_values_of_the_registry_read_as_empty(tmp_path):
    table = synthetic_text_table()
    table.loc[table["ps"] == "", "ps"] = "不明"
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="column ps: not a number"):
        load_cohort(path)
    assert load_cohort(path, mapping=Mapping(missing=("不明",))).data["ps"].isna().sum() == 4


# --------------------------------------------------------------------------- the bmt study


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_bmt_as_r_delivers_it_loads_through_its_study_alone_and_matches_r(tmp_path):
    """KMsurv's bmt, written unchanged (no ids, days, (time, indicator) pairs, one record with chronic
    GVHD after death), is read by studies/bmt.yml alone: nothing converted, the file never edited."""
    output = tmp_path / "bmt.csv"
    run = subprocess.run(["Rscript", str(PROJECT_ROOT / "data" / "export_bmt.R"), str(output)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    written = output.read_bytes()
    study = load_study(STUDIES / "bmt.yml")
    cohort = load_cohort(output, mapping=study.mapping, include=study.include, synthetic=study.synthetic,
                         changes=study.changes)
    assert output.read_bytes() == written
    data = cohort.data
    assert cohort.n_records == 137 and cohort.n == 136
    assert cohort.flow[1] == ("chronic GVHD recorded after death", 1, True)
    assert "127" not in set(data["patient_id"])
    # row 38: dead on day 350 without relapse, relapse follow-up (t2) ending on day 332
    assert [(w.patient_id, w.column, w.value, w.severity) for w in cohort.warnings] == [
        ("38", "relapse_day", "332", "warning")]
    assert data["disease"].value_counts().to_dict() == {"AML low risk": 54, "AML high risk": 44, "ALL": 38}
    assert set(data["graft_source"]) == {"BM"} and set(data["donor_type"]) == {"related"}
    assert set(data["conditioning"]) == {"MAC"} and "status_at_hct" not in data and "agvhd_grade" not in data
    assert (data["vital_status"] == "dead").sum() == 80 and data["relapse"].sum() == 42
    assert data["agvhd_any"].sum() == 26 and data["cgvhd_any"].sum() == 60

    from analysis.analyses.estimates import estimate_endpoint

    ours = estimate_endpoint(data, "os", by="disease")
    r_code = """
        suppressMessages(library(survival)); library(KMsurv); data(bmt); bmt <- bmt[-127, ]
        f <- survfit(Surv(t1 / 30.4375, d1) ~ group, data = bmt, conf.type = "log-log")
        s <- summary(f, times = 12)
        cat(sprintf("%.15g", s$surv), sprintf("%.15g", survdiff(Surv(t1, d1) ~ group, data = bmt)$chisq))
    """
    values = subprocess.run(["Rscript", "-e", r_code], capture_output=True, text=True, timeout=120, check=True)
    *surv, chisq = map(float, values.stdout.split())
    by_label = {c.label: c.at(12).estimate for c in ours.curves}
    assert by_label["ALL"] == pytest.approx(surv[0], abs=1e-12)
    assert by_label["AML low risk"] == pytest.approx(surv[1], abs=1e-12)
    assert by_label["AML high risk"] == pytest.approx(surv[2], abs=1e-12)
    assert ours.test.statistic == pytest.approx(chisq, abs=1e-10)


# --------------------------------------------------------------------------- same input, same numbers


def test_the_same_input_twice_gives_identical_numbers():
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        env.pop("REPORT_DATA", None)
        run = subprocess.run([sys.executable, "-m", "analysis", "estimates", str(SYNTHETIC_DATA), "--by", "graft_source",
                              "--json"], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["n"] == 59
