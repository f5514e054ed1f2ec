"""Registry extracts as registries deliver them, read through a study file alone (issue 15).

Each test writes a small file in a registry's own shape and a study file saying how to read it:
durations in months kept exactly, (time, indicator) pairs, one competing-risks status column,
extra levels and the registry's own columns, record exclusions and corrections, ids from rows.
The file is never changed, and every problem is reported at once with its line and column.
"""
from __future__ import annotations

import hashlib
import json
import textwrap

import numpy as np
import pytest

from analysis.analyses.characteristics import characteristics, default_variables
from analysis.analyses.estimates import estimate_endpoint
from analysis.analyses.models import fit_model
from analysis.analyses.settings import load_study
from analysis.build import deliveries
from analysis.cli.main import main
from analysis.data.cohort import load_cohort
from analysis.data.mapping import Mapping
from analysis.data.paths import PROJECT_ROOT
from analysis.data.problems import DataValidationError
from analysis.data.readers import read_table
from analysis.data.schema import MONTH_DAYS, code_order, column_label, level_label
from analysis.data.study import StudyConfigError, study_cohort
from registry_exports import synthetic_text_table
from analysis.data.validate import validate
from analysis.domain.endpoints import endpoint_data

MONTHS_HEADER = "id,age,sex,Phase,Source,donor_age,timedeath,death,intxrel,rel,timegvhd,gvhd"
MONTHS_ROWS = [
    "K001,45,m,CR1,BM,30,12.5,1,8.25,1,2.1,1",
    "K002,33,f,CR2,PB,41,60.3,0,60.3,0,1.5,1",
    "K003,51,m,Relapse,BM+PB,28,3.97,1,3.97,0,3.97,0",
    "K004,28,f,CR1,CB,,24.4,0,24.4,0,24.4,0",
    "K005,60,m,CR3,PB,55,9.97,1,5.5,1,0.9,1",
    "K006,39,f,CR2,BM,35,103.32,0,103.32,0,103.32,0",
]
MONTHS_STUDY = """\
    data: months.csv
    time_unit: months
    reproduce: none
    groupings: [phase, graft_source]
    covariates: [phase, donor_age]
    mapping:
      columns: {id: patient_id, age: age, sex: sex, Source: graft_source}
      codes: {sex: {m: M, f: F}}
      events:
        death: {time: timedeath, event: death}
        relapse: {time: intxrel, event: rel}
        agvhd: {time: timegvhd, event: gvhd}
      levels: {graft_source: [BM, PB, CB, BM+PB]}
      extra:
        phase: {column: Phase, type: categorical, levels: [CR1, CR2, CR3, Relapse], reference: CR1, label: "Phase at HCT"}
        donor_age: {type: numeric, unit: years, label: "Donor age"}
      unavailable: [status_at_hct, donor_type, conditioning]
    """


def write_delivery(folder, name, header, rows, study, study_name="study.yml"):
    (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    path = folder / study_name
    path.write_text(textwrap.dedent(study), encoding="utf-8")
    return path


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def months_study(tmp_path):
    return write_delivery(tmp_path, "months.csv", MONTHS_HEADER, MONTHS_ROWS, MONTHS_STUDY)


# --------------------------------------------------------------------------- time units


def test_fractional_months_are_kept_exactly(months_study):
    """Issue 15: months such as 9.97 were refused ("days after HCT must be a whole number"), and
    rounding them to days moved published results; they are analysed as written, no days in between."""
    cohort = study_cohort(load_study(months_study))
    data = cohort.data
    assert list(data["last_contact_months"]) == [12.5, 60.3, 3.97, 24.4, 9.97, 103.32]
    assert list(data["relapse_months"].dropna()) == [8.25, 5.5]
    os_ = endpoint_data(data, "os")
    assert list(os_.time) == [12.5, 60.3, 3.97, 24.4, 9.97, 103.32]  # the same floating-point values
    relapse = endpoint_data(data, "relapse")
    assert list(relapse.time) == [8.25, 60.3, 3.97, 24.4, 5.5, 103.32]
    assert list(relapse.status) == [1, 0, 2, 0, 1, 0]


@pytest.mark.parametrize("unit, value, months", [
    ("days", "91", 91 / MONTH_DAYS), ("weeks", "13", 13 * 7 / MONTH_DAYS), ("years", "1.5", 18.0),
    ("months", "2.99", 2.99)])
def test_each_time_unit_becomes_months(tmp_path, unit, value, months):
    header = "patient_id,age,sex,status_at_hct,graft_source,donor_type,conditioning,vital_status,last_contact_day,relapse,relapse_day"
    (tmp_path / "x.csv").write_text(f"{header}\nA,50,F,PR,BM,related,MAC,alive,{value},0,\n", encoding="utf-8")
    frame, problems = validate(read_table(tmp_path / "x.csv"), mapping=Mapping(time_unit=unit))
    assert problems == [] and frame.loc[0, "last_contact_months"] == months


def test_fractional_days_are_still_refused_and_the_message_names_time_unit(tmp_path):
    header = "patient_id,age,sex,status_at_hct,graft_source,donor_type,conditioning,vital_status,last_contact_day,relapse,relapse_day"
    (tmp_path / "x.csv").write_text(f"{header}\nA,50,F,PR,BM,related,MAC,alive,9.97,0,\n", encoding="utf-8")
    _, problems = validate(read_table(tmp_path / "x.csv"))
    assert [p.message for p in problems] == [
        "days after HCT must be a whole number (a study given in weeks, months or years says so with time_unit)"]


# --------------------------------------------------------------------------- (time, indicator) pairs


def test_time_indicator_pairs_give_event_or_censoring_times(months_study):
    """Issue 15: a pair's time with indicator 0 (a censoring time) was read as an event date
    ("date given but relapse = 0")."""
    data = study_cohort(load_study(months_study)).data
    assert list(data["vital_status"]) == ["dead", "alive", "dead", "alive", "dead", "alive"]
    assert list(data["relapse"]) == [1, 0, 0, 0, 1, 0]
    assert list(data["agvhd_any"]) == [1, 1, 0, 0, 1, 0]
    assert list(data["agvhd_months"].dropna()) == [2.1, 1.5, 0.9]


def test_a_censoring_time_other_than_the_last_contact_is_a_warning(tmp_path):
    rows = [*MONTHS_ROWS[:1], "K002,33,f,CR2,PB,41,60.3,0,48.1,0,1.5,1", *MONTHS_ROWS[2:]]
    study = write_delivery(tmp_path, "months.csv", MONTHS_HEADER, rows, MONTHS_STUDY)
    cohort = study_cohort(load_study(study))
    assert [(w.line, w.patient_id, w.column_label, w.value, w.message) for w in cohort.warnings] == [
        (3, "K002", "intxrel (relapse_day)", "48.1",
         "censored at month 48.1, but the last contact is at month 60.3: counted free of the event until the "
         "last contact")]


def test_a_wrong_indicator_names_its_line_and_column(tmp_path):
    rows = [*MONTHS_ROWS[:2], "K003,51,m,Relapse,BM+PB,28,3.97,yes,3.97,0,3.97,0", *MONTHS_ROWS[3:]]
    study = write_delivery(tmp_path, "months.csv", MONTHS_HEADER, rows, MONTHS_STUDY)
    with pytest.raises(DataValidationError) as caught:
        study_cohort(load_study(study))
    assert [(p.line, p.patient_id, p.column_label, p.value, p.message) for p in caught.value.errors] == [
        (4, "K003", "death (vital_status)", "yes", "event indicator must be 1 (event) or 0 (censored)")]


# --------------------------------------------------------------------------- one status column

STATUS_HEADER = "Sex,D,Phase,Age,Status,Source,ftime"
STATUS_ROWS = ["M,AML,CR1,45,1,PB,8.25", "F,ALL,CR2,33,0,BM+PB,60.3", "M,AML,Relapse,51,2,PB,3.97",
               "F,AML,CR1,28,0,PB,24.4"]
STATUS_STUDY = """\
    data: status.csv
    time_unit: months
    reproduce: none
    groupings: [disease]
    covariates: [disease, age]
    mapping:
      ids: row
      columns: {Sex: sex, Age: age, D: disease, Source: graft_source}
      status:
        column: Status
        time: ftime
        codes: {0: censored, 1: relapse, 2: death_without_relapse}
      levels: {graft_source: [PB, BM+PB]}
      unavailable: [status_at_hct, donor_type, conditioning]
    """


def test_one_status_column_feeds_relapse_vital_status_and_their_times(tmp_path):
    """Issue 15: one registry column could feed one SPEC column only."""
    study = write_delivery(tmp_path, "status.csv", STATUS_HEADER, STATUS_ROWS, STATUS_STUDY)
    cohort = study_cohort(load_study(study))
    data = cohort.data
    assert list(data["patient_id"]) == ["1", "2", "3", "4"]
    assert list(data["relapse"]) == [1, 0, 0, 0] and list(data["relapse_months"].dropna()) == [8.25]
    assert list(data["vital_status"]) == ["alive", "alive", "dead", "alive"]
    assert list(data["last_contact_months"]) == [8.25, 60.3, 3.97, 24.4]
    nrm = endpoint_data(data, "nrm")
    assert list(nrm.status) == [2, 0, 1, 0] and list(nrm.time) == [8.25, 60.3, 3.97, 24.4]
    assert cohort.follow_up_ends_at_first_event and cohort.warnings == ()


def test_an_unknown_status_code_is_one_error_on_its_line(tmp_path):
    rows = [*STATUS_ROWS[:2], "M,AML,Relapse,51,3,PB,3.97", STATUS_ROWS[3]]
    study = write_delivery(tmp_path, "status.csv", STATUS_HEADER, rows, STATUS_STUDY)
    with pytest.raises(DataValidationError) as caught:
        study_cohort(load_study(study))
    assert [(p.line, p.patient_id, p.column_label, p.value, p.message) for p in caught.value.errors] == [
        (4, "3", "Status (relapse)", "3", "unknown status code; expected one of 0, 1, 2 (mapping.status.codes)")]


# --------------------------------------------------------------------------- levels and the study's own columns


def test_added_levels_and_own_columns_enter_the_label_table_groupings_models_and_table_one(months_study):
    """Issue 15: BM+PB had no code, and a registry's phase column could not enter a model
    (`--covariates` accepted SPEC columns only)."""
    cohort = study_cohort(load_study(months_study))
    data = cohort.data
    assert list(data["graft_source"]) == ["BM", "PB", "BM+PB", "CB", "PB", "BM"]
    assert column_label("phase") == "Phase at HCT" and column_label("donor_age") == "Donor age"
    assert code_order("phase") == ("CR1", "CR2", "CR3", "Relapse")
    assert code_order("graft_source") == ("BM", "PB", "CB", "BM+PB") and level_label("graft_source", "BM+PB") == "BM+PB"
    grouped = estimate_endpoint(data, "os", by="phase")
    assert [c.label for c in grouped.curves] == ["CR1", "CR2", "CR3", "Relapse"] and grouped.by == "Phase at HCT"
    model = fit_model(data, "os", "cox", ["phase", "donor_age"])
    assert model.references == {"phase": "CR1"}
    assert [t.term for t in model.terms] == ["phase[CR2]", "phase[CR3]", "phase[Relapse]", "donor_age"]
    assert "phase" in default_variables(data) and "donor_age" in default_variables(data)
    table = characteristics(data, by="graft_source")
    assert table.groups == ("BM", "PB", "CB", "BM+PB")
    assert table.variable_row("donor_age").label == "Donor age, years"


def test_a_level_not_declared_is_still_an_unknown_code(tmp_path):
    rows = [*MONTHS_ROWS[:5], "K006,39,f,CR4,BM,35,103.32,0,103.32,0,103.32,0"]
    study = write_delivery(tmp_path, "months.csv", MONTHS_HEADER, rows, MONTHS_STUDY)
    with pytest.raises(DataValidationError) as caught:
        study_cohort(load_study(study))
    assert [(p.line, p.column_label, p.value, p.message) for p in caught.value.errors] == [
        (7, "Phase (phase)", "CR4", "unknown code; expected one of CR1, CR2, CR3, Relapse")]


def test_a_derived_grouping_that_cannot_place_an_added_level_is_refused(tmp_path):
    study = write_delivery(tmp_path, "months.csv", MONTHS_HEADER, MONTHS_ROWS,
                           MONTHS_STUDY.replace("groupings: [phase, graft_source]", "groupings: [graft_cb_vs_other]"))
    with pytest.raises(StudyConfigError) as caught:
        load_study(study)
    assert ("groupings: 'graft_cb_vs_other' places only the codes CB, PB, BM of graft_source in its groups; the study "
            "adds BM+PB (mapping.levels): group by graft_source itself") in str(caught.value)


def test_study_file_mistakes_in_the_new_forms_are_all_reported(tmp_path, study_problems):
    path = tmp_path / "study.yml"
    path.write_text(textwrap.dedent("""\
        data: x.csv
        time_unit: fortnights
        exclude: [{patient: K1, resaon: x}]
        corrections: [{patient: K2, column: age, value: 50, reason: "typo"}, {patient: K2, column: age, value: 51, reason: "x"}]
        mapping:
          ids: rows
          events: {survival: {time: t, event: e}, relapse: {time: t2}}
          status: {column: S, time: t, codes: {1: relapse, 2: dead}}
          levels: {vital_status: [alive, dead, lost], graft_source: [PB, ＰＢ]}
          extra:
            age: {type: numeric}
            phase: {type: categorical, levels: [CR1, CR2], reference: CR3}
            weight: {type: numeric, unit: kg, levels: [1]}
        """), encoding="utf-8")
    text = study_problems(path)
    for expected in [
        "time_unit: expected one of days, weeks, months, years, got 'fortnights'",
        "line 3: exclude: entry 1: reason missing",
        "corrections: patient K2, column age is corrected 2 times",
        "exclude: entry 1: resaon: unknown key; did you mean reason?",
        "mapping.ids: expected row",
        "mapping.events.survival: not an endpoint with a (time, indicator) pair",
        "mapping.events.relapse: expected {time: column, event: column}",
        "mapping.status.codes: 2 means 'dead'; choose censored, relapse, death_without_relapse",
        "mapping.levels.vital_status: the codes of vital_status (alive, dead) are fixed",
        "mapping.levels.graft_source: 'PB' and 'ＰＢ' are the same value (after Unicode normalisation)",
        "mapping.extra.age: age is a SPEC column",
        "mapping.extra.phase.reference: 'CR3' is not one of its levels (CR1, CR2)",
        "mapping.extra.weight.levels: only a categorical column has levels",
    ]:
        assert expected in text, expected


# --------------------------------------------------------------------------- known-bad records


@pytest.fixture
def days_delivery(tmp_path):
    """The days shape (as KMsurv's bmt: no ids, pairs, record 127 with chronic GVHD after death)."""
    path = tmp_path / "days.csv"
    path.write_text(deliveries.delivery_csv_text(deliveries.days_known_bad()), encoding="utf-8")
    return path


DAYS_STUDY = """\
    data: days.csv
    reproduce: none
    groupings: [disease]
    covariates: [disease, age]
    mapping:
      ids: row
      columns: {z1: age, z3: sex, group: disease}
      codes:
        sex: {1: M, 0: F}
        disease: {1: ALL, 2: AML low risk, 3: AML high risk}
      events:
        death: {time: t1, event: d1}
        relapse: {time: t2, event: d2}
        agvhd: {time: ta, event: da}
        cgvhd: {time: tc, event: dc}
        platelet: {time: tp, event: dp}
      constants: {graft_source: BM, donor_type: related, conditioning: MAC}
      unavailable: [status_at_hct]
    """


def test_a_known_bad_record_is_excluded_by_the_study_never_edited(tmp_path, days_delivery):
    """Issue 15: the only way past a record with chronic GVHD after death was to edit the raw file."""
    plain = tmp_path / "plain.yml"
    plain.write_text(textwrap.dedent(DAYS_STUDY), encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        study_cohort(load_study(plain))
    assert [(p.line, p.patient_id, p.column_label, p.value, p.message) for p in caught.value.errors] == [
        (128, "127", "tc (cgvhd_day)", "200", "event after last contact (day 200 > last contact day 168)")]

    before = sha256(days_delivery)
    study = tmp_path / "study.yml"
    study.write_text(textwrap.dedent(DAYS_STUDY) + textwrap.dedent("""\
        exclude:
          - {patient: 127, reason: "chronic GVHD recorded after death (registry query open)"}
        corrections:
          - {patient: 5, column: z1, value: 41, reason: "age corrected by the registry, 2026-03"}
        """), encoding="utf-8")
    cohort = study_cohort(load_study(study))
    assert sha256(days_delivery) == before
    assert cohort.n_records == 137 and cohort.n == 136
    assert cohort.flow[:2] == (("Records in the extract", 137, False),
                               ("chronic GVHD recorded after death (registry query open)", 1, True))
    assert [(e.action, e.column, e.reason, e.count) for e in cohort.audit] == [
        ("excluded", None, "chronic GVHD recorded after death (registry query open)", 1),
        ("corrected", "z1", "age corrected by the registry, 2026-03", 1)]
    ids = list(cohort.data["patient_id"])
    assert "127" not in ids and ids[-1] == "137"  # record numbers stay the file's
    assert cohort.data.loc[cohort.data["patient_id"] == "5", "age"].item() == 41


@pytest.mark.parametrize("entries, message", [
    ("exclude:\n  - {patient: 999, reason: gone}\n", "patient 999: exclude: no record of this patient in the extract"),
    ("corrections:\n  - {patient: 3, column: age_at_hct, value: 4, reason: r}\n",
     "patient 3, column age_at_hct: corrections: the file has no such column \\(name it as the file does\\)"),
])
def test_an_entry_that_no_longer_fits_the_extract_is_an_error(tmp_path, days_delivery, entries, message):
    study = tmp_path / "study.yml"
    study.write_text(textwrap.dedent(DAYS_STUDY) + "exclude:\n  - {patient: 127, reason: bad}\n"
                     + entries.replace("exclude:\n", ""), encoding="utf-8")
    with pytest.raises(DataValidationError, match=message):
        study_cohort(load_study(study))


def test_a_corrected_patient_cannot_also_be_excluded(tmp_path):
    study = tmp_path / "study.yml"
    study.write_text("data: x.csv\nexclude: [{patient: P1, reason: a}]\n"
                     "corrections: [{patient: P1, column: age, value: 3, reason: b}]\n", encoding="utf-8")
    with pytest.raises(StudyConfigError, match="corrections: patient P1 is also excluded"):
        load_study(study)


# --------------------------------------------------------------------------- no id column


def test_without_an_id_column_every_problem_is_still_reported(tmp_path):
    """Issue 15: validation stopped at "patient_id: required column is missing" and checked no record."""
    header = "age,sex,status_at_hct,graft_source,donor_type,conditioning,vital_status,last_contact_day,relapse,relapse_day"
    (tmp_path / "x.csv").write_text(f"{header}\n50,F,PR,BM,related,MAC,dead,200,1,260\n40,X,CR,CB,unrelated,RIC,alive,90,0,\n",
                                    encoding="utf-8")
    _, problems = validate(read_table(tmp_path / "x.csv"))
    assert [(p.line, p.column, p.message) for p in problems] == [
        (None, "patient_id", "required column is missing (a file without ids: `ids: row` under mapping numbers the records)"),
        (2, "relapse_day", "event after last contact (day 260 > last contact day 200)"),
        (3, "sex", "unknown code; expected one of M, F")]
    frame, problems = validate(read_table(tmp_path / "x.csv"), mapping=Mapping(ids="row"))
    assert list(frame["patient_id"]) == ["1", "2"] and [p.patient_id for p in problems] == ["1", "2"]


# --------------------------------------------------------------------------- the crashes and messages of issue 15


@pytest.mark.parametrize("graded, onset", [("agvhd_grade", "agvhd_date"), ("cgvhd", "cgvhd_date")])
def test_a_grade_without_its_onset_column_is_read_not_crashed_on(tmp_path, capsys, graded, onset):
    """Issue 15: `agvhd_grade` without `agvhd_day`, valid because nobody had GVHD, crashed
    `estimates` with "error: 'agvhd_day'"."""
    table = synthetic_text_table().drop(columns=onset)
    table[graded] = "0" if graded == "agvhd_grade" else "none"
    table.to_csv(tmp_path / "x.csv", index=False)
    assert main(["estimates", str(tmp_path / "x.csv"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    name = "agvhd2" if graded == "agvhd_grade" else "cgvhd"
    assert document["endpoints"][name]["groups"]["all"]["events"] == 0
    table.loc[3, graded] = "3" if graded == "agvhd_grade" else "limited"
    table.to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(tmp_path / "x.csv")
    assert [(p.line, p.column, p.message) for p in caught.value.errors] == [
        (5, onset, ("acute GVHD grade 3" if graded == "agvhd_grade" else "limited chronic GVHD")
         + f" without an onset date (the file has no {onset} column)")]


def unavailable_study(tmp_path, columns) -> str:
    table = synthetic_text_table().drop(columns=columns)
    table.to_csv(tmp_path / "x.csv", index=False)
    path = tmp_path / "study.yml"
    path.write_text(f"data: x.csv\nreproduce: none\ngroupings: [graft_source]\ncovariates: [age]\n"
                    f"mapping:\n  unavailable: [{', '.join(columns)}]\n", encoding="utf-8")
    return str(path)


def test_a_grouping_whose_column_is_declared_unavailable_says_so(tmp_path, capsys):
    """Issue 15: `--by status_crpr_vs_nr` printed only "error: 'status_at_hct'"."""
    study = unavailable_study(tmp_path, ["status_at_hct", "pif"])
    assert main(["estimates", "--study", study, "--by", "status_crpr_vs_nr"]) == 2
    assert capsys.readouterr().err == ("error: --by status_crpr_vs_nr: 'status_at_hct' is declared unavailable in the "
                                       "study (mapping.unavailable) (grouping status_crpr_vs_nr uses status_at_hct)\n")


def test_a_covariate_declared_unavailable_says_so(tmp_path, capsys):
    """Issue 15: "unknown covariate 'donor_type'" for a column the study declares unavailable."""
    study = unavailable_study(tmp_path, ["donor_type"])
    assert main(["model", "--study", study, "--endpoint", "os", "--covariates", "age,donor_type"]) == 2
    assert capsys.readouterr().err == ("error: --covariates donor_type: 'donor_type' is declared unavailable in the "
                                       "study (mapping.unavailable)\n")


def test_a_missing_required_column_says_how_a_study_supplies_it(tmp_path):
    """Issue 15: "conditioning: required column is missing" did not mention mapping.unavailable or constants."""
    synthetic_text_table().drop(columns="conditioning").to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(tmp_path / "x.csv")
    assert [p.message for p in caught.value.errors] == [
        "required column is missing (map the registry's column to it under mapping.columns; if the registry does "
        "not record it, list it under mapping.unavailable; if it is the same for every patient, give it under "
        "mapping.constants)"]


def test_a_warning_repeated_on_many_records_is_one_line(tmp_path, capsys):
    """Issue 15: an empty cause_of_death column gave one warning line per death (737 on one file)."""
    table = synthetic_text_table()
    table["cause_of_death"] = ""
    table.to_csv(tmp_path / "x.csv", index=False)
    assert main(["validate", str(tmp_path / "x.csv")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # the table's header, one line for the 43 warnings, the summary
    assert "SYN001, SYN002, SYN003, SYN004, SYN005, ..." in out[1]
    assert "dead without a cause of death (counted as unknown) (43 records)" in out[1]


def test_paths_print_resolved(tmp_path, capsys, monkeypatch):
    """Issue 15: paths printed as `../studies/../raw/...`."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "studies").mkdir()
    synthetic_text_table().to_csv(tmp_path / "raw" / "x.csv", index=False)
    (tmp_path / "studies" / "s.yml").write_text("data: ../raw/x.csv\nreproduce: none\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--study", "studies/s.yml"]) == 0
    assert capsys.readouterr().out == "raw/x.csv: 59 records, no problems found\n"


def test_the_help_says_reference_repeats(capsys):
    """Issue 15: the help did not say that --reference may be given several times."""
    with pytest.raises(SystemExit):
        main(["model", "--help"])
    assert "repeat it for several columns" in " ".join(capsys.readouterr().out.split())


# --------------------------------------------------------------------------- the committed examples


def test_the_committed_deliveries_regenerate_byte_for_byte(tmp_path):
    written = deliveries.write_deliveries(tmp_path)
    for path in written:
        committed = PROJECT_ROOT / "data" / "synthetic" / "deliveries" / path.name
        assert path.read_bytes() == committed.read_bytes(), path.name


@pytest.mark.parametrize("name, n, n_records", [("months_pairs", 160, 160), ("status_column", 177, 177),
                                                ("days_known_bad", 136, 137)])
def test_each_example_study_reads_its_delivery_alone(name, n, n_records, monkeypatch):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    cohort = study_cohort(load_study(PROJECT_ROOT / "studies" / f"{name}.yml"))
    assert (cohort.n, cohort.n_records, cohort.synthetic) == (n, n_records, True)
    assert np.isfinite(cohort.data["last_contact_months"]).all()


@pytest.mark.parametrize("shape", sorted(deliveries.SHAPES))
def test_estimates_and_model_read_each_delivery_through_its_study_alone(shape, tmp_path, capsys):
    """Issue 15: each shape goes from the registry's own file (written here) to `estimates` and `model`."""
    (tmp_path / f"{shape}.csv").write_text(deliveries.delivery_csv_text(deliveries.SHAPES[shape]()), encoding="utf-8")
    text = (PROJECT_ROOT / "studies" / f"{shape}.yml").read_text(encoding="utf-8")
    study = tmp_path / "study.yml"
    study.write_text("\n".join(f"data: {shape}.csv" if line.startswith("data:") else line
                               for line in text.splitlines()), encoding="utf-8")
    settings = load_study(study)
    assert main(["estimates", "--study", str(study), "--by", settings.groupings[0], "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["n"] == (136 if shape == "days_known_bad" else len(deliveries.SHAPES[shape]()))
    assert document["endpoints"]["relapse"]["test"]["name"] == "Gray"
    covariates = ",".join(settings.covariates)
    assert main(["model", "--study", str(study), "--endpoint", "relapse", "--method", "finegray",
                 "--covariates", covariates, "--json"]) == 0
    model = json.loads(capsys.readouterr().out)
    assert model["n"] > 100 and model["terms"] and all(np.isfinite(t["coef"]) for t in model["terms"])
