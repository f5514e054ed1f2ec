"""The command line end to end, against R on the synthetic cohort."""
import json
import math
import shutil
import subprocess
import sys

import pytest

from analysis.cli.main import main
from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA

R_SCRIPT = PROJECT_ROOT / "tests" / "reference" / "endpoints_reference.R"
R_VALUES = PROJECT_ROOT / "tests" / "reference" / "endpoints_reference.json"
ESTIMATE_TOLERANCE = 1e-8
P_TOLERANCE = 1e-6


def run_cli(*args):
    result = subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=120)
    return result


def close(ours, theirs, tolerance):
    if theirs is None:
        return ours is None
    return ours is not None and math.isclose(ours, theirs, rel_tol=0, abs_tol=tolerance)


def assert_documents_agree(ours, reference):
    assert ours["n"] == reference["n"] and ours["time_unit"] == "months"
    assert set(ours["endpoints"]) == set(reference["endpoints"])
    for name, expected in reference["endpoints"].items():
        got = ours["endpoints"][name]
        assert got["kind"] == expected["kind"], name
        assert set(got["groups"]) == set(expected["groups"]), name
        for label, group in expected["groups"].items():
            mine = got["groups"][label]
            assert (mine["n"], mine["events"]) == (group["n"], group["events"]), (name, label)
            for t, point in group["at"].items():
                for field in ("estimate", "lower", "upper"):
                    assert close(mine["at"][t][field], point[field], ESTIMATE_TOLERANCE), (name, label, t, field)
        test = got["test"]
        assert test["name"] == expected["test"]["name"] and test["df"] == expected["test"]["df"], name
        assert close(test["statistic"], expected["test"]["statistic"], P_TOLERANCE), name
        assert close(test["p"], expected["test"]["p"], P_TOLERANCE), name


def test_estimates_json_against_r():
    result = run_cli("estimates", str(SYNTHETIC_DATA), "--by", "graft_source", "--times", "12,60", "--json")
    assert result.returncode == 0, result.stderr
    assert_documents_agree(json.loads(result.stdout), json.loads(R_VALUES.read_text()))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_endpoint_reference_values_are_current_against_r(tmp_path):
    fresh = tmp_path / "fresh.json"
    subprocess.run(["Rscript", str(R_SCRIPT), str(fresh)], cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=300)
    stored = json.loads(R_VALUES.read_text())
    regenerated = json.loads(fresh.read_text())
    assert_documents_agree(regenerated, stored)


def test_estimates_without_by_has_no_test_and_times_keyed_as_given(capsys):
    assert main(["estimates", str(SYNTHETIC_DATA), "--times", "6,24.5", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    os_block = document["endpoints"]["os"]
    assert os_block["test"] is None and list(os_block["groups"]) == ["all"]
    assert list(os_block["groups"]["all"]["at"]) == ["6", "24.5"]


def test_validate_synthetic_cohort_is_clean(capsys):
    assert main(["validate", str(SYNTHETIC_DATA)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_validate_lists_every_problem_and_exits_1(tmp_path, capsys):
    lines = SYNTHETIC_DATA.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("sex")] = "X"
    second = lines[2].split(",")
    second[header.index("graft_source")] = "cord"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([lines[0], ",".join(first), ",".join(second), *lines[3:]]) + "\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "sex" in out and "graft_source" in out and "2 error(s)" in out


def test_unknown_grouping_is_a_clear_error(capsys):
    assert main(["estimates", str(SYNTHETIC_DATA), "--by", "shoe_size"]) == 2
    assert "--by shoe_size: 'shoe_size' is not a SPEC column" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad arguments (issue 11)


@pytest.mark.parametrize("argv, message", [
    (["estimates", "DATA", "--times", "nan"], "--times must be months after HCT (finite, 0 or more), got nan"),
    (["estimates", "DATA", "--times", "-1"], "--times must be months after HCT (finite, 0 or more), got -1"),
    (["estimates", "DATA", "--times", "12,inf"], "got inf"),
    (["model", "DATA", "--endpoint", "os", "--covariates", "age", "--landmark", "-3"],
     "--landmark must be months after HCT (finite, 0 or more), got -3"),
    (["model", "DATA", "--endpoint", "os", "--covariates", "age", "--landmark", "nan"], "got nan"),
])
def test_impossible_times_are_refused_with_a_message(argv, message, capsys):
    argv = [str(SYNTHETIC_DATA) if a == "DATA" else a for a in argv]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["validate", "estimates"])
def test_a_folder_as_data_is_refused_with_a_message(tmp_path, command, capsys):
    assert main([command, str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"DATA: {tmp_path} is a folder, not an extract file" in err


@pytest.mark.parametrize("by, reason", [
    ("patient_id", "an identifier gives (nearly) every patient a group of their own"),
    ("hct_date", "a date gives (nearly) every patient a group of their own"),
    ("relapse_day", "a day count gives (nearly) every patient a group of their own"),
    ("age", "distinct values; a grouping has at most 20"),
])
def test_estimates_by_an_identifier_or_a_many_valued_column_is_refused(by, reason, capsys):
    """Issue 11: `--by patient_id` printed every patient id (and on 2,009 patients tried to allocate 13.8 GiB)."""
    assert main(["estimates", str(SYNTHETIC_DATA), "--by", by]) == 2
    captured = capsys.readouterr()
    assert f"cannot group patients by {by}: " in captured.err and reason in captured.err
    assert "SYN001" not in captured.out + captured.err


def test_text_estimates_print_a_null_group_test(tmp_path, capsys):
    """Issue 11: TypeError: unsupported format string passed to NoneType.__format__."""
    table = SYNTHETIC_DATA.read_text(encoding="utf-8").splitlines()
    header = table[0].split(",")
    rows = [line.split(",") for line in table[1:]]
    for row in rows:  # nobody has acute GVHD: Gray's test of aGVHD by graft source is undefined
        row[header.index("agvhd_grade")], row[header.index("agvhd_date")] = "0", ""
    path = tmp_path / "no_agvhd.csv"
    path.write_text("\n".join([table[0], *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    assert main(["estimates", str(path), "--by", "graft_source"]) == 0
    out = capsys.readouterr().out
    assert "Gray: chi2 = NA, df = 2, p = NA" in out


def test_output_piped_into_head_ends_quietly():
    """Issue 11: a reader that stops early (`| head`) gave a BrokenPipeError traceback."""
    process = subprocess.Popen([sys.executable, "-m", "analysis", "estimates", str(SYNTHETIC_DATA), "--json"],
                               cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line is written
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=120) == 141
    assert err == ""


def test_estimates_side_by_side_on_several_cores_are_the_estimates_one_at_a_time(monkeypatch):
    """`estimates` computes its endpoints in threads, one per core: the document is the one computed
    endpoint by endpoint, to the last digit (each endpoint's numbers are its own)."""
    import os

    from analysis.cli.documents import estimates_document
    from analysis.data.cohort import load_cohort

    def document(cores):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        data = load_cohort(SYNTHETIC_DATA).data  # (a fresh frame: nothing kept from the other run)
        return json.dumps(estimates_document(data, "graft_source", [("12", 12.0), ("60", 60.0)]))

    assert document(4) == document(1)
