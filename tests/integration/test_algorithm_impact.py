"""What a new algorithm version changes for the patients in care: the impact, from the command line and the page.

The demo board (load_demo) has seven cases in care: four on the upcoming
agenda (MM-DEMO-002, -003, -006, -008) and three with a planned decision from
the last meeting (MM-DEMO-004, -005, -009); MM-DEMO-001 and -007 are not in care.
"""

import copy
import io
import json

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from algorithm import impact
from cases import derivation, services
from cases.models import Case, Decision
from regimens.models import AlgorithmOption, AlgorithmStatus, AlgorithmVersion, ImpactRun, ImpactStatus

pytestmark = pytest.mark.django_db

IN_CARE = {
    "MM-DEMO-002",
    "MM-DEMO-003",
    "MM-DEMO-004",
    "MM-DEMO-005",
    "MM-DEMO-006",
    "MM-DEMO-008",
    "MM-DEMO-009",
}
NEW_CATEGORY = {
    "preferred": "future",
    "alternative": "future",
    "consider": "preferred",
    "future": "preferred",
}


@pytest.fixture
def demo(knowledge_base):
    # The demo board's own nine cases (the outcomes history's synthetic patients are left out).
    call_command("load_demo", history=False, stdout=io.StringIO())


def published_recommendations() -> dict[str, dict]:
    """Each case in care's options under the published version, as the case pages show them."""
    return {
        case.code: services.recommend(derivation.engine_facts(derivation.derive(services.case_data(case))))
        for case in Case.objects.filter(code__in=IN_CARE)
    }


def only_placed_by(
    recommendations: dict[str, dict], avoid: set[str] = frozenset(), prefer=()
) -> tuple[str, str]:
    """An (option, setting) such that every case offered the option is offered it by that setting alone, or
    not by that setting at all: removing or re-categorising it there changes exactly the first cases."""
    placements: dict[tuple[str, str], list[list[str]]] = {}
    for rec in recommendations.values():
        for option in rec["options"]:
            for setting in {p["setting"] for p in option["settings"]}:
                placements.setdefault((option["key"], setting), [])
    for (key, setting), _ in placements.items():
        for rec in recommendations.values():
            option = next((o for o in rec["options"] if o["key"] == key), None)
            if option:
                placements[(key, setting)].append([p["setting"] for p in option["settings"]])
    candidates = [
        (key, setting)
        for (key, setting), found in placements.items()
        if key not in avoid
        and any(p == [setting] for p in found)
        and all(p == [setting] or setting not in p for p in found)
    ]
    candidates.sort(key=lambda c: (c[0] not in prefer, c))
    return candidates[0]


def offered_only_by(recommendations, key: str, setting: str) -> dict[str, dict]:
    out = {}
    for code, rec in recommendations.items():
        option = next((o for o in rec["options"] if o["key"] == key), None)
        if option and [p["setting"] for p in option["settings"]] == [setting]:
            out[code] = option
    return out


def test_a_draft_with_one_option_removed_and_one_category_changed_changes_exactly_the_cases_offered_them(
    demo, tmp_path
):
    # Arrange: which demo cases in care are offered what, under the published version.
    recommendations = published_recommendations()
    decided = dict(
        Decision.objects.filter(case__code__in=IN_CARE).values_list("case__code", "option_key")
    )  # one decision per case in the demo
    removed, removed_from = only_placed_by(recommendations, prefer=set(decided.values()))
    changed, changed_in = only_placed_by(recommendations, avoid={removed})
    lose = offered_only_by(recommendations, removed, removed_from)
    shift = offered_only_by(recommendations, changed, changed_in)
    assert lose and shift, "the demo must offer both options"
    expected = set(lose) | set(shift)
    assert expected < IN_CARE, f"some case in care must keep its options ({removed}, {changed})"

    # A copy of the published algorithm, as a file: `removed` taken out of one setting, `changed` recategorised.
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    settings = {s["key"]: s for s in data["settings"]}
    settings[removed_from]["options"] = [
        o for o in settings[removed_from]["options"] if o["regimen"] != removed
    ]
    option = next(o for o in settings[changed_in]["options"] if o["regimen"] == changed)
    old_category = option["category"]
    option["category"] = NEW_CATEGORY[old_category]
    path = tmp_path / "algorithm-2026.2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    # Act
    out = io.StringIO()
    call_command("load_algorithm", str(path), as_draft="2026.2", stdout=out)
    report, progress = io.StringIO(), io.StringIO()
    call_command("algorithm_impact", "2026.2", format="json", stdout=report, stderr=progress)

    # Assert
    assert "Loaded algorithm-2026.2.yaml as draft 2026.2" in out.getvalue()
    result = json.loads(report.getvalue())
    assert result["counts"]["in_care"] == len(IN_CARE)
    assert {case["code"] for case in result["cases"]} == expected
    for case in result["cases"]:
        changes = {c["option"]: c for c in case["changes"]}
        wanted = ({removed} if case["code"] in lose else set()) | (
            {changed} if case["code"] in shift else set()
        )
        assert set(changes) == wanted, case
        if removed in changes:
            assert changes[removed]["before"] == lose[case["code"]]["category"]
            assert changes[removed]["after"] is None
        if changed in changes:
            assert changes[changed]["before"] == shift[case["code"]]["category"]
            assert changes[changed]["after"] not in (None, changes[changed]["before"])
        if case["code"] in decided:
            assert case["decision"]["option"] == decided[case["code"]]
            assert case["decision"]["status"] == "planned"
        else:
            assert case["decision"] is None
    chosen_lost = {code for code in lose if decided.get(code) == removed}
    assert {c["code"] for c in result["cases"] if "chosen_withdrawn" in c["kinds"]} == chosen_lost
    assert result["counts"]["kinds"]["chosen_withdrawn"] == len(chosen_lost)
    assert f"7/{len(IN_CARE)} cases" in progress.getvalue()
    # Stored with the draft: its page opens on the result.
    run = ImpactRun.objects.get(draft__label="2026.2")
    assert run.status == ImpactStatus.DONE
    assert {c["code"] for c in run.results} == expected


@pytest.fixture
def draft(demo):
    """A draft in which SVd is no longer offered to lenalidomide- and anti-CD38-refractory disease."""
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(AlgorithmVersion.objects.with_rules().get(pk=published.pk).to_rules_dict())
    for setting in data["settings"]:
        if setting["key"] == "len_and_cd38_refractory":
            setting["options"] = [o for o in setting["options"] if o["regimen"] != "SVD"]
    from algorithm.versions import load_draft

    return load_draft(data, "2026.2", "SVd leaves the double-refractory setting (test).")


def test_impact_page_runs_in_the_task_worker_then_lists_the_cases_by_kind(
    curator_client, board_member, draft, task_worker
):
    url = reverse("algorithm_version_impact", args=["2026.2"])
    board_client = Client()
    board_client.force_login(board_member)

    before = curator_client.get(url).content.decode()
    started = curator_client.post(url)
    queued = curator_client.get(url).content.decode()
    ran = task_worker()
    curator_page = curator_client.get(url).content.decode()
    board_page = board_client.get(url).content.decode()

    assert "has not been computed yet" in before
    assert started.status_code == 302
    assert "Waiting for the task worker" in queued
    assert "<progress" in queued
    assert 'data-hx-trigger="every 1s"' in queued
    assert ran == 1
    run = ImpactRun.objects.get(draft=draft)
    assert run.status == ImpactStatus.DONE and run.done == run.total == len(IN_CARE)
    changed = {c["code"] for c in run.results}
    assert "MM-DEMO-003" in changed  # SVd was its preferred option
    assert f"{len(changed)} of {len(IN_CARE)} cases in care change" in curator_page
    # Curators see the counts, not the cases; the board sees the cases, the decision in force, a link.
    assert "MM-DEMO-003" not in curator_page
    assert "your role may not view cases" in curator_page
    assert "Options that change category, appear or go" in board_page
    assert 'href="/cases/MM-DEMO-003/"' in board_page
    assert "SVd: preferred → not listed" in board_page


def test_polling_reloads_the_page_when_the_run_is_done(curator_client, draft, task_worker):
    url = reverse("algorithm_version_impact", args=["2026.2"])
    curator_client.post(url)

    running = curator_client.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true")
    task_worker()
    finished = curator_client.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true")

    assert running.status_code == 200 and "<progress" in running.content.decode()
    assert "<html" not in running.content.decode()  # the part only
    assert finished.headers["HX-Refresh"] == "true"


def test_only_curators_start_a_run(board_client, draft):
    response = board_client.post(reverse("algorithm_version_impact", args=["2026.2"]))

    assert response.status_code == 403
    assert not ImpactRun.objects.exists()


def test_stored_result_opens_at_once_and_goes_out_of_date_when_the_draft_or_a_case_changes(
    board_client, draft, django_assert_num_queries
):
    impact.execute(impact.create_run(draft, AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)))
    url = reverse("algorithm_version_impact", args=["2026.2"])

    # session, user, permissions (2), draft, published, latest run, revision, six history tables
    with django_assert_num_queries(14):
        fresh = board_client.get(url).content.decode()
    case = Case.objects.get(code="MM-DEMO-002")
    case.notes += " Seen in clinic."
    case.save()
    after_case = board_client.get(url).content.decode()
    impact.execute(impact.create_run(draft, AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)))
    option = AlgorithmOption.objects.filter(setting__version=draft).first()
    option.rationale += " (edited)"
    option.save()
    after_draft = board_client.get(url).content.decode()

    assert "cases in care change" in fresh
    assert "out of date" not in fresh
    assert "out of date" in after_case
    assert "out of date" in after_draft


def test_load_algorithm_is_all_or_nothing_with_one_line_naming_the_problem(knowledge_base, tmp_path, capsys):
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    data["settings"][1]["options"][0]["regimen"] = "NO-SUCH-REGIMEN"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("settings: [\n  - key: x\n", encoding="utf-8")

    errors = []
    for path, label in ((bad, "2026.2"), (broken, "2026.2"), (bad, "2026.1")):
        with pytest.raises(SystemExit) as exit_:
            call_command("load_algorithm", str(path), as_draft=label)
        errors.append((exit_.value.code, capsys.readouterr().err.strip()))

    assert [code for code, _ in errors] == [2, 2, 2]
    assert all("\n" not in line for _, line in errors)
    assert "NO-SUCH-REGIMEN" in errors[0][1] and "settings[1].options[0].regimen" in errors[0][1]
    assert errors[1][1].startswith("broken.yaml: line ") and "not valid YAML" in errors[1][1]
    assert "a version 2026.1 exists already" in errors[2][1]
    assert list(AlgorithmVersion.objects.values_list("label", flat=True)) == ["2026.1"]


def test_algorithm_diff_command_in_words_and_json(draft):
    text, data = io.StringIO(), io.StringIO()

    call_command("algorithm_diff", "2026.1", "2026.2", stdout=text)
    call_command("algorithm_diff", "2026.1", "2026.2", format="json", stdout=data)

    assert "Change notes of 2026.2: SVd leaves the double-refractory setting (test)." in text.getvalue()
    assert "- SVd: preferred → not listed in 'Double refractory" in text.getvalue()
    changes = json.loads(data.getvalue())["changes"]
    assert [(c["area"], c["kind"], c["option"], c["before"]) for c in changes if c["area"] == "option"] == [
        ("option", "removed", "SVD", "preferred")
    ]
