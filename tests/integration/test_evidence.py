"""load_evidence / export_evidence: mapping, idempotence, errors, all-or-nothing, round trip.

Most tests use the synthetic files in evidence_fixtures/; error tests load a
copy of them with one thing broken. Tests using the `knowledge_base` fixture load
the shipped knowledge base (regimens/evidence/*.yaml).
"""

import copy
import datetime
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from regimens.evidence import loader
from regimens.evidence.loader import EvidenceError, Report, default_paths, url_source_key
from regimens.models import (
    Action,
    Approval,
    Caution,
    Drug,
    Regimen,
    RegimenComponent,
    RegulatoryEvent,
    Result,
    Source,
    Trial,
    TrialArm,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "evidence_fixtures"
REGIMENS, TRIALS, ADDITIONS = "regimens_synthetic.yaml", "trials_synthetic.yaml", "additions_synthetic.yaml"
BASE = [FIXTURES / REGIMENS, FIXTURES / TRIALS]


Docs = dict[str, dict]


def _load(*paths: Path, **options) -> str:
    out = StringIO()
    call_command("load_evidence", *[str(path) for path in paths], stdout=out, **options)
    return out.getvalue()


def _export(format: str = "yaml") -> str:
    out = StringIO()
    call_command("export_evidence", format=format, stdout=out)
    return out.getvalue()


def _variant(tmp_path: Path, change: Callable[[Docs], None]) -> list[Path]:
    """Copies of the base fixture files, changed by `change`, under the same file names."""
    docs = {path.name: yaml.safe_load(path.read_text()) for path in BASE}
    change(docs)
    paths = []
    for name, doc in docs.items():
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths


def _empty_knowledge_base() -> None:
    for model in (Result, TrialArm, Approval, RegimenComponent, Caution, RegulatoryEvent, Action):
        model.objects.all().delete()
    for model in (Regimen, Trial, Drug, Source):
        model.objects.all().delete()


def _trial_a(docs: Docs) -> dict:
    return docs[TRIALS]["trials"][0]


def _summary(output: str, model: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{model}:"))


# --------------------------------------------------------------------------- loading


def test_load_evidence_fixture_maps_every_field():
    _load(*BASE)

    results = {(r.endpoint, r.arm.key): r for r in Result.objects.select_related("arm", "vs", "source")}
    pfs_a = results[("pfs_median", "A")]
    assert (pfs_a.value, pfs_a.ci_low, pfs_a.ci_high, pfs_a.ci_level, pfs_a.unit) == (
        10.3,
        8.0,
        12.0,
        0.95,
        "months",
    )
    pfs_b = results[("pfs_median", "B")]
    assert (pfs_b.value, pfs_b.not_reached, pfs_b.ci_low, pfs_b.ci_high) == (None, True, 9.0, None)
    os_hr = results[("os_hr", "A")]
    assert (os_hr.vs.key, os_hr.ci_level, os_hr.ci_low, os_hr.ci_high, os_hr.unit) == (
        "B",
        0.976,
        0.4,
        0.9,
        "",
    )
    assert results[("pfs_hr", "A")].p == "<0.001"
    assert results[("orr", "A")].population == "subgroup_x"
    trial_a, trial_b = Trial.objects.get(key="TRIAL-A"), Trial.objects.get(key="TRIAL-B")
    assert (trial_a.prior_lines_min, trial_a.prior_lines_max, trial_a.len_refractory_pct) == (1, 3, 50.0)
    assert (trial_b.prior_lines_min, trial_b.prior_lines_max, trial_b.nct) == (None, None, "")
    assert set(trial_a.sources.values_list("key", flat=True)) == {
        "synthetic-2020",
        "synthetic-2021",
        "shared-synthetic",
    }
    assert TrialArm.objects.get(trial=trial_b, key="C").regimen is None


def test_load_evidence_fixture_maps_drugs_regimens_and_actions():
    _load(*BASE)

    cautions = list(Caution.objects.filter(drug__key="DRUG-A").values_list("key", "description", "order"))
    assert cautions == [
        ("synthetic_caution_one", "", 0),
        ("synthetic_caution_two", "A synthetic caution with words", 1),
    ]
    event = RegulatoryEvent.objects.get(drug__key="DRUG-A")
    assert (event.agency, event.year, event.source.url) == ("EMA", 2020, "https://example.org/drug-a-history")
    regimen = Regimen.objects.get(key="REG-A")
    assert [c.drug.key for c in regimen.components.order_by("order")] == ["DRUG-A", "DRUG-B", "DRUG-C"]
    assert list(regimen.key_trials.values_list("key", flat=True)) == ["TRIAL-A"]
    assert regimen.schedule_source.url == "https://example.org/reg-a-schedule"
    ema, fda = regimen.approvals.order_by("agency")
    assert (ema.date, ema.status, fda.date, fda.status) == (
        datetime.date(2020, 6, 1),
        "conditional",
        None,
        "approved",
    )
    assert fda.source.key == url_source_key("https://example.org/reg-a-fda")
    action = Action.objects.get(key="ACTION-A")
    assert list(action.other_sources.values_list("url", flat=True)) == ["https://example.org/action-a-more"]


def test_load_evidence_keeps_the_quote_of_a_result_a_caution_and_an_approval():
    _load(*BASE)

    result = Result.objects.get(trial__key="TRIAL-B", endpoint="orr")
    caution = Caution.objects.get(drug__key="DRUG-B", key="synthetic_caution_three")
    approval = Approval.objects.get(regimen__key="REG-A", agency="FDA")
    assert result.quote == "the overall response rate was 40% (95% CI, 30%-50%)"
    assert caution.quote == "Synthetic drug B needs a synthetic precaution."
    assert caution.source.url == "https://example.org/drug-b-caution"
    assert approval.quote == "approved for a synthetic indication after 1 prior line"
    assert Result.objects.get(trial__key="TRIAL-A", endpoint="orr").quote == ""  # first-curation facts


def test_url_source_key_is_stable():
    key = url_source_key("https://example.org/reg-a-fda")

    assert key == url_source_key("https://example.org/reg-a-fda")
    assert key.startswith("url-") and len(key) == len("url-") + 12
    assert key != url_source_key("https://example.org/reg-a-ema")


def test_load_evidence_second_run_changes_nothing():
    _load(*BASE)

    output = _load(*BASE)

    summaries = [line for line in output.splitlines() if " created, " in line]
    assert len(summaries) == len(loader.MODELS)
    assert all(" 0 created, 0 updated, 0 deleted, " in line for line in summaries), output
    assert "Result: 0 created, 0 updated, 0 deleted, 6 unchanged" in output


def test_load_evidence_reload_queries_do_not_grow_with_rows(django_assert_max_num_queries):
    _load(*BASE)

    with django_assert_max_num_queries(30):
        _load(*BASE)


def test_load_evidence_edited_files_update_and_delete_rows(tmp_path):
    _load(*BASE)

    def edit(docs: Docs) -> None:
        _trial_a(docs)["results"][0]["value"] = 10.4
        del _trial_a(docs)["results"][4]
        docs[REGIMENS]["drugs"][0]["cautions"].pop(0)
        docs[REGIMENS]["regimens"][0]["approvals"].pop(1)
        docs[REGIMENS]["regimens"][1]["drugs"].remove("DRUG-C")

    output = _load(*_variant(tmp_path, edit))

    assert _summary(output, "Result") == "Result: 0 created, 1 updated, 1 deleted, 4 unchanged"
    assert _summary(output, "Caution") == "Caution: 0 created, 1 updated, 1 deleted, 1 unchanged"
    assert _summary(output, "Approval") == "Approval: 0 created, 0 updated, 1 deleted, 1 unchanged"
    assert (
        _summary(output, "RegimenComponent")
        == "RegimenComponent: 0 created, 0 updated, 1 deleted, 4 unchanged"
    )
    assert Result.objects.get(endpoint="pfs_median", arm__key="A").value == 10.4


def test_load_evidence_removed_arm_deletes_its_results(tmp_path):
    _load(*BASE)

    def drop_arm_b(docs: Docs) -> None:
        trial = _trial_a(docs)
        trial["arms"].pop(1)
        trial["results"] = [r for r in trial["results"] if "B" not in (r["arm"], r.get("vs"))]
        docs[REGIMENS]["regimens"][1]["key_trials"].remove("TRIAL-A")

    output = _load(*_variant(tmp_path, drop_arm_b))

    assert _summary(output, "TrialArm") == "TrialArm: 0 created, 0 updated, 1 deleted, 2 unchanged"
    # The remaining subgroup result moves up: its order changes.
    assert _summary(output, "Result") == "Result: 0 created, 1 updated, 3 deleted, 2 unchanged"
    assert _summary(output, "Regimen") == "Regimen: 0 created, 1 updated, 0 deleted, 1 unchanged"


def test_load_evidence_check_writes_nothing():
    output = _load(*BASE, check=True)

    assert "Trial: 2 created, 0 updated, 0 deleted, 0 unchanged" in output
    assert "Nothing was written" in output
    assert not Trial.objects.exists()
    assert not Source.objects.exists()


def test_load_evidence_additions_merge_into_their_trial():
    _load(*BASE, FIXTURES / ADDITIONS)

    trial = Trial.objects.get(key="TRIAL-A")
    assert trial.results.count() == 6
    assert trial.results.get(endpoint="cr_or_better").source.key == "synthetic-2022"
    assert "synthetic-2022" in trial.sources.values_list("key", flat=True)
    assert (
        trial.notes.startswith("Synthetic trial for tests.") and "searched for and not found" in trial.notes
    )


def test_load_evidence_ignores_unmapped_seed_aliases():
    output = _load(FIXTURES / REGIMENS, FIXTURES / TRIALS)

    assert "Regimen: 2 created" in output
    assert not Regimen.objects.filter(key="Reg-Z").exists()


def test_default_paths_are_the_yaml_files_of_the_evidence_folder(monkeypatch, tmp_path):
    for name in ("trials_x.yaml", "algorithm.yaml", "README.md", "regimens_x.yaml"):
        (tmp_path / name).write_text("")
    monkeypatch.setattr(loader, "EVIDENCE_DIR", tmp_path)

    assert [path.name for path in default_paths()] == ["algorithm.yaml", "regimens_x.yaml", "trials_x.yaml"]


# --------------------------------------------------------------------------- errors


def _set(path: list, value) -> Callable[[Docs], None]:
    """A change that sets docs[path...] to value."""

    def change(docs: Docs) -> None:
        target = docs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _append_copy(file: str, section: str, index: int) -> Callable[[Docs], None]:
    def change(docs: Docs) -> None:
        docs[file][section].append(copy.deepcopy(docs[file][section][index]))

    return change


def _add_drug_to_regimen(docs: Docs) -> None:
    docs[REGIMENS]["regimens"][1]["drugs"].append("DRUG-Z")


def _duplicate_result(docs: Docs) -> None:
    _trial_a(docs)["results"].append(copy.deepcopy(_trial_a(docs)["results"][0]))


T = [TRIALS, "trials", 0]  # TRIAL-A
THIRTY_ONE_WORDS = " ".join(f"word{i}" for i in range(31))
BAD_DATA = {
    "result_quote_over_30_words": (
        _set([*T, "results", 0, "quote"], THIRTY_ONE_WORDS),
        r"^trials_synthetic\.yaml:\d+: TRIAL-A result 1 \(pfs_median A\): quote has 31 words \(at most 30\)",
    ),
    "caution_quote_over_30_words": (
        _set([REGIMENS, "drugs", 0, "cautions", 1, "quote"], THIRTY_ONE_WORDS),
        r"^regimens_synthetic\.yaml:\d+: drug DRUG-A caution synthetic_caution_two: quote has 31 words \(at most 30\)",
    ),
    "approval_quote_over_30_words": (
        _set([REGIMENS, "regimens", 0, "approvals", 0, "quote"], THIRTY_ONE_WORDS),
        r"^regimens_synthetic\.yaml:\d+: regimen REG-A approval 1 \(EMA 2020\): quote has 31 words \(at most 30\)",
    ),
    "caution_quote_without_source": (
        _set([REGIMENS, "drugs", 0, "cautions", 1, "quote"], "a phrase read from nowhere"),
        r"drug DRUG-A caution synthetic_caution_two: quote needs the source it was read from$",
    ),
    "unknown_regimen_in_arm": (
        _set([*T, "arms", 1, "regimen"], "REG-Z"),
        r"^trials_synthetic\.yaml:\d+: TRIAL-A arm 2 \(B\): unknown regimen 'REG-Z'$",
    ),
    "result_percent_over_100": (
        _set([*T, "results", 4, "value"], 104),
        r"^trials_synthetic\.yaml:\d+: TRIAL-A result 5 \(orr A\): value 104 is over 100 \(unit percent\)$",
    ),
    "trial_percent_over_100": (
        _set([*T, "len_refractory_pct"], 120.0),
        r"^trials_synthetic\.yaml:\d+: TRIAL-A: len_refractory_pct 120\.0 is over 100$",
    ),
    "ci_excludes_value": (
        _set([*T, "results", 0, "ci95"], [8.0, 10.0]),
        r"^trials_synthetic\.yaml:\d+: TRIAL-A result 1 \(pfs_median A\): ci95 \[8\.0, 10\.0\] excludes the value 10\.3$",
    ),
    "ci_other_excludes_value": (
        _set([*T, "results", 3, "ci_other", "bounds"], [0.7, 0.9]),
        r"TRIAL-A result 4 \(os_hr A\): ci_other bounds \[0\.7, 0\.9\] excludes the value 0\.6$",
    ),
    "unknown_source_key": (
        _set([*T, "results", 0, "source"], "nowhere-2020"),
        r"TRIAL-A result 1 \(pfs_median A\): unknown source 'nowhere-2020' \(not in the sources of TRIAL-A\)$",
    ),
    "unknown_arm_key": (
        _set([*T, "results", 2, "vs"], "Z"),
        r"TRIAL-A result 3 \(pfs_hr A\): unknown vs 'Z' \(arms of TRIAL-A: A, B\)$",
    ),
    "duplicate_trial": (
        _append_copy(TRIALS, "trials", 1),
        r"^trials_synthetic\.yaml:\d+: TRIAL-B: trial key defined twice \(also at trials_synthetic\.yaml:\d+\)$",
    ),
    "duplicate_regimen": (
        _append_copy(REGIMENS, "regimens", 1),
        r"^regimens_synthetic\.yaml:\d+: regimen REG-B: regimen key defined twice",
    ),
    "duplicate_drug": (
        _append_copy(REGIMENS, "drugs", 2),
        r"^regimens_synthetic\.yaml:\d+: drug DRUG-C: drug key defined twice",
    ),
    "duplicate_result": (
        _duplicate_result,
        r"TRIAL-A result 6 \(pfs_median A\): same endpoint, population, arm, vs and analysis as result 1;",
    ),
    "source_defined_twice_differently": (
        _set([TRIALS, "trials", 1, "sources", 0, "citation"], "Another citation"),
        r"TRIAL-B source shared-synthetic: source shared-synthetic is defined differently at "
        r"trials_synthetic\.yaml:\d+ \(TRIAL-A source shared-synthetic\): citation differs$",
    ),
    "unknown_drug_in_regimen": (
        _add_drug_to_regimen,
        r"^regimens_synthetic\.yaml:\d+: regimen REG-B: unknown drug 'DRUG-Z'$",
    ),
    "unknown_endpoint": (
        _set([*T, "results", 0, "endpoint"], "pfs_mean"),
        r"TRIAL-A result 1 \(pfs_mean A\): unknown endpoint 'pfs_mean' \(one of: pfs_median, ",
    ),
    "free_text_route": (
        _set([REGIMENS, "drugs", 0, "route"], "iv or sc"),
        r"drug DRUG-A: unknown route 'iv or sc' \(one of: iv, sc, oral, iv_or_sc, oral_or_iv\)$",
    ),
    "unknown_field": (
        _set([*T, "results", 0, "ci_95"], [8.0, 12.0]),
        r"TRIAL-A result 1 \(pfs_median A\): unknown field 'ci_95'",
    ),
    "value_missing_without_not_reached": (
        _set([*T, "results", 0, "value"], None),
        r"TRIAL-A result 1 \(pfs_median A\): value is missing \(write not_reached: true",
    ),
    "unknown_allowed_regimen": (
        _set([TRIALS, "trials", 1, "arms", 0, "allowed_regimens"], ["REG-A", "REG-Z"]),
        r"TRIAL-B arm 1 \(C\): allowed_regimens: unknown regimen 'REG-Z'$",
    ),
    "unit_not_fitting_endpoint": (
        _set([*T, "results", 0, "unit"], "percent"),
        r"TRIAL-A result 1 \(pfs_median A\): unit 'percent' does not fit endpoint pfs_median",
    ),
}


@pytest.mark.parametrize(("change", "message"), BAD_DATA.values(), ids=BAD_DATA.keys())
def test_load_evidence_bad_data_stops_with_one_line(tmp_path, change, message):
    paths = _variant(tmp_path, change)

    with pytest.raises(CommandError, match=message) as error:
        _load(*paths)

    assert "\n" not in str(error.value)
    assert not Trial.objects.exists()


def test_load_evidence_invalid_yaml_names_the_line(tmp_path):
    lines = (FIXTURES / TRIALS).read_text().splitlines()
    broken = next(i for i, line in enumerate(lines) if line.strip() == "name: Trial-A")
    lines[broken] += ": extra"
    path = tmp_path / TRIALS
    path.write_text("\n".join(lines))

    with pytest.raises(CommandError, match=rf"^trials_synthetic\.yaml:{broken + 1}: invalid YAML: "):
        _load(FIXTURES / REGIMENS, path)


def test_load_evidence_duplicate_yaml_key_names_the_line(tmp_path):
    lines = (FIXTURES / TRIALS).read_text().splitlines()
    name_line = next(i for i, line in enumerate(lines) if line.strip() == "name: Trial-A")
    lines.insert(name_line + 1, "    name: Trial-A again")
    path = tmp_path / TRIALS
    path.write_text("\n".join(lines))

    with pytest.raises(
        CommandError, match=rf"^trials_synthetic\.yaml:{name_line + 2}: invalid YAML: duplicate key"
    ):
        _load(FIXTURES / REGIMENS, path)


def test_load_evidence_missing_path_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file or directory"):
        _load(tmp_path / "absent.yaml")


def test_load_evidence_bad_data_leaves_database_unchanged(tmp_path):
    _load(*BASE)
    before = _export()

    def valid_edits_then_an_error(docs: Docs) -> None:
        docs[REGIMENS]["drugs"][0]["name"] = "renamed synthetic drug"
        _trial_a(docs)["results"][0]["value"] = 11.0
        docs[TRIALS]["trials"][1]["results"][0]["value"] = 101

    with pytest.raises(CommandError, match="over 100"):
        _load(*_variant(tmp_path, valid_edits_then_an_error))

    assert _export() == before


def _record_other_document(path: Path, document: dict, report: Report) -> None:
    report.record("AlgorithmVersion", document["settings"][0], "created")


def _fail_other_document(path: Path, document: dict, report: Report) -> None:
    raise EvidenceError(f"{path.name}: setting S-1: unknown regimen 'REG-Z'")


def test_load_evidence_hands_marked_documents_to_their_loader(monkeypatch, tmp_path):
    monkeypatch.setitem(loader.OTHER_LOADERS, "settings", _record_other_document)
    algorithm = tmp_path / "algorithm_x.yaml"
    algorithm.write_text("settings: [S-1]\ntrials: {TRIAL-A: {sources: []}}\n")

    output = _load(*BASE, algorithm)

    assert "AlgorithmVersion: 1 created, 0 updated, 0 deleted, 0 unchanged" in output
    assert Trial.objects.count() == 2


def test_load_evidence_error_while_writing_rolls_everything_back(monkeypatch, tmp_path):
    monkeypatch.setitem(loader.OTHER_LOADERS, "settings", _fail_other_document)
    algorithm = tmp_path / "algorithm_x.yaml"
    algorithm.write_text("settings: [S-1]\n")

    with pytest.raises(CommandError, match=r"^algorithm_x\.yaml: setting S-1: unknown regimen 'REG-Z'$"):
        _load(*BASE, algorithm)

    assert not Source.objects.exists()
    assert not Trial.objects.exists()


def test_load_evidence_investigators_choice_arm_names_its_regimens(tmp_path):
    paths = _variant(tmp_path, _set([TRIALS, "trials", 1, "arms", 0, "allowed_regimens"], ["REG-B", "REG-A"]))

    _load(*paths)
    arm = TrialArm.objects.get(trial__key="TRIAL-B", key="C")
    exported = yaml.safe_load(_export())

    assert arm.regimen is None
    assert sorted(arm.allowed_regimens.values_list("key", flat=True)) == ["REG-A", "REG-B"]
    trial_b = next(t for t in exported["trials"] if t["key"] == "TRIAL-B")
    assert trial_b["arms"][0]["allowed_regimens"] == ["REG-A", "REG-B"]
    assert "allowed_regimens" not in next(t for t in exported["trials"] if t["key"] == "TRIAL-A")["arms"][0]


def test_shipped_investigators_choice_arms_name_their_regimens(knowledge_base):
    arms = {
        (arm.trial.key, arm.key): sorted(r.key for r in arm.allowed_regimens.all())
        for arm in TrialArm.objects.filter(allowed_regimens__isnull=False).distinct().select_related("trial")
    }

    assert arms == {
        ("CARTITUDE-4", "SOC"): ["DPD", "PVD"],
        ("KARMMA-3", "SR"): ["DPD", "DVD", "EPD", "IRD", "KD"],
        ("MAJESTEC-3", "DPd-DVd"): ["DPD", "DVD"],
    }


# --------------------------------------------------------------------------- exporting


def test_export_evidence_round_trip_is_identical(tmp_path):
    _load(*BASE, FIXTURES / ADDITIONS)
    first = _export()
    _empty_knowledge_base()
    (tmp_path / "export.yaml").write_text(first)

    _load(tmp_path / "export.yaml")

    assert _export() == first


def test_export_evidence_writes_the_files_format():
    _load(*BASE)

    document = yaml.safe_load(_export())

    assert list(document) == ["drugs", "regimens", "actions", "trials"]
    trial_a = next(trial for trial in document["trials"] if trial["key"] == "TRIAL-A")
    pfs_b, os_hr = trial_a["results"][1], trial_a["results"][3]
    assert (pfs_b["value"], pfs_b["not_reached"], pfs_b["ci95"]) == (None, True, [9.0, None])
    assert (os_hr["ci95"], os_hr["ci_other"]) == (None, {"level": 0.976, "bounds": [0.4, 0.9]})
    assert trial_a["prior_lines"] == {"min": 1, "max": 3}
    drug_a = document["drugs"][0]
    assert drug_a["cautions"] == [
        "synthetic_caution_one",
        {"key": "synthetic_caution_two", "description": "A synthetic caution with words"},
    ]
    reg_a = document["regimens"][0]
    assert reg_a["approvals"][0]["source"] == "https://example.org/reg-a-ema"
    assert (reg_a["approvals"][0]["date"], reg_a["approvals"][0]["status"]) == ("2020-06-01", "conditional")


def test_export_evidence_round_trip_keeps_quotes(tmp_path):
    _load(*BASE)
    exported = _export()
    _empty_knowledge_base()
    (tmp_path / "export.yaml").write_text(exported)

    _load(tmp_path / "export.yaml")

    document = yaml.safe_load(exported)
    trial_b = next(trial for trial in document["trials"] if trial["key"] == "TRIAL-B")
    assert trial_b["results"][0]["quote"] == "the overall response rate was 40% (95% CI, 30%-50%)"
    drug_b = next(drug for drug in document["drugs"] if drug["key"] == "DRUG-B")
    assert drug_b["cautions"][0]["quote"] == "Synthetic drug B needs a synthetic precaution."
    assert "quote" not in document["regimens"][0]["approvals"][0]  # none given: none written
    assert Result.objects.get(trial__key="TRIAL-B").quote == trial_b["results"][0]["quote"]
    assert Caution.objects.get(drug__key="DRUG-B").quote == drug_b["cautions"][0]["quote"]
    assert Approval.objects.get(regimen__key="REG-A", agency="FDA").quote == (
        "approved for a synthetic indication after 1 prior line"
    )
    assert _export() == exported


def test_export_evidence_writes_floats_as_in_the_files():
    _load(*BASE)

    output = _export()

    assert "value: 10.3\n" in output
    assert "ci95: [8.0, 12.0]\n" in output
    assert "10.29999" not in output


def test_export_evidence_output_file(tmp_path):
    _load(*BASE)
    target = tmp_path / "kb.json"
    out = StringIO()

    call_command("export_evidence", format="json", output=str(target), stdout=out)

    assert json.loads(target.read_text())["trials"][0]["key"] == "TRIAL-A"
    assert f"to {target}" in out.getvalue()


def _assert_every_trial_sourced(exported: dict, trial_keys: set[str]) -> None:
    trials = {trial["key"]: trial for trial in exported["trials"]}
    assert trial_keys <= set(trials)
    for key in trial_keys:
        # A URL-only source is listed as the URL itself; results cite it by its url- key.
        sources = {
            url_source_key(s) if isinstance(s, str) else s["key"]: {"url": s} if isinstance(s, str) else s
            for s in trials[key]["sources"]
        }
        for result in trials[key]["results"]:
            source = sources[result["source"]]
            assert source["url"] or source["doi"], (key, result)


def test_export_evidence_json_holds_every_trial_with_sourced_results():
    _load(*BASE)

    exported = json.loads(_export("json"))

    _assert_every_trial_sourced(exported, {"TRIAL-A", "TRIAL-B"})


# --------------------------------------------------------------------------- the shipped knowledge base


def _project_trial_keys() -> set[str]:
    keys = set()
    for path in default_paths():
        document = yaml.safe_load(path.read_text()) or {}
        if "settings" in document:  # the algorithm's `trials` maps keys to where they were read
            continue
        keys |= {trial["key"] for trial in document.get("trials") or []}
    return keys


def test_knowledge_base_json_export_holds_every_trial_with_sourced_results(knowledge_base):
    exported = json.loads(_export("json"))

    _assert_every_trial_sourced(exported, _project_trial_keys())


def test_knowledge_base_round_trip_is_identical(knowledge_base, tmp_path):
    first = _export()
    _empty_knowledge_base()
    (tmp_path / "export.yaml").write_text(first)

    _load(tmp_path / "export.yaml")

    assert _export() == first


def test_knowledge_base_second_load_changes_nothing(knowledge_base):
    output = _load()

    assert all(
        " 0 created, 0 updated, 0 deleted, " in line for line in output.splitlines() if " created, " in line
    )
