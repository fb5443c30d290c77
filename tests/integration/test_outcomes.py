"""Follow-up of decided treatments and /outcomes/: what a case editor records, what the board sees."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Decision, Meeting, Outcome, ResponseAssessment
from tests.conftest import PASSWORD
from tests.integration.factories import (
    RegimenFactory,
    ResultFactory,
    SourceFactory,
    TrialArmFactory,
    TrialFactory,
    make_case,
)

pytestmark = pytest.mark.django_db

RECOMMENDATION = {
    "algorithm_version": "2025.1",
    "settings": [{"key": "double_refractory", "label": "Double refractory"}],
    "options": [
        {"key": "SVD", "category": "preferred", "settings": [{"setting": "double_refractory"}]},
        {"key": "KD", "category": "alternative", "settings": [{"setting": "double_refractory"}]},
    ],
    "not_recommended": [{"key": "DRD", "reason": "lenalidomide-refractory"}],
}
TODAY = timezone.localdate()


def decide(user, code: str, option_key="SVD", option_label="SVd", decided=None, **fields) -> Decision:
    decided = decided or TODAY - timedelta(days=400)
    meeting, _ = Meeting.objects.get_or_create(
        title=f"Board {decided:%Y-%m-%d}",
        defaults={
            "date": timezone.make_aware(timezone.datetime.combine(decided, timezone.datetime.min.time()))
        },
    )
    return Decision.objects.create(
        case=make_case(code=code), meeting=meeting, option_key=option_key, option_label=option_label,
        rationale="Synthetic rationale, never exported.", snapshot={"recommendation": RECOMMENDATION},
        algorithm_version="2025.1", recorded_by=user, **fields,
    )  # fmt: skip


def follow(decision: Decision, start_days=10, progression_days=None, last_days=200, **fields) -> Outcome:
    decided = decision.decided_on
    decision.status = "started"
    decision.save()
    outcome = Outcome.objects.create(
        decision=decision,
        start=decided + timedelta(days=start_days),
        progression=decided + timedelta(days=progression_days) if progression_days else None,
        progression_basis="laboratory" if progression_days else "",
        last_contact=None if progression_days else decided + timedelta(days=last_days),
        **fields,
    )
    return outcome


@pytest.fixture
def cohort(board_member):
    """12 patients started on SVd (a curve), 3 on Kd (too few), one 'other', one excluded, one not started."""
    for n in range(12):
        decision = decide(board_member, f"MM-O-{n:03d}")
        follow(
            decision, progression_days=60 + 30 * n if n % 3 else None, notes="Private note about the patient."
        )
    for n in range(3):
        follow(decide(board_member, f"MM-K-{n:03d}", "KD", "Kd"), progression_days=120)
    follow(decide(board_member, "MM-X-001", "OTHER", "Local protocol"))
    follow(decide(board_member, "MM-X-002", "DRD", "DRd"))
    decide(board_member, "MM-X-003", status="not_started", deviation_reason="patient_choice")


@pytest.fixture
def boston():
    """SVd's trial median PFS in the knowledge base (synthetic numbers)."""
    svd = RegimenFactory(key="SVD", abbreviation="SVd")
    arm = TrialArmFactory(trial=TrialFactory(key="SYN-BOSTON", name="Syn-Boston"), regimen=svd, key="svd")
    source = SourceFactory(
        key="syn-boston-source", citation="Synthetic B, et al. Journal 2020", url="https://example.org/b"
    )
    ResultFactory(arm=arm, value=13.5, ci_low=11.0, ci_high=15.0, source=source)


def _figure(html: str, chart_id: str) -> dict:
    match = re.search(rf'<script id="{chart_id}-figure" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"{chart_id} has no figure"
    return json.loads(match.group(1))


def _kinds(figure: dict, kind: str) -> list[dict]:
    return [t for t in figure["data"] if t.get("meta", {}).get("kind") == kind]


# --- The follow-up form ---------------------------------------------------------------------------


def _post(client, decision, **data):
    body = {"status": "started", "responses-TOTAL_FORMS": "2", "responses-INITIAL_FORMS": "0", **data}
    return client.post(reverse("cases:follow_up", args=[decision.pk]), body)


def test_follow_up_records_start_responses_and_progression(editor_client, board_member):
    decision = decide(board_member, "MM-F-001", decided=TODAY - timedelta(days=200))
    start = TODAY - timedelta(days=190)

    response = _post(
        editor_client, decision, start=start.isoformat(), progression=(start + timedelta(days=120)).strftime("%Y-%m"),
        progression_basis="imaging", **{"responses-0-when": (start + timedelta(days=60)).isoformat(),
                                        "responses-0-response": "VGPR"},
    )  # fmt: skip

    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/MM-F-001/#decision-{decision.pk}")
    decision.refresh_from_db()
    outcome = decision.outcome
    assert decision.status == "started"
    assert (outcome.start, outcome.start_precision) == (start, "day")
    assert outcome.progression_precision == "month" and outcome.progression.day == 1
    assert [(r.response, r.date) for r in outcome.responses.all()] == [("VGPR", start + timedelta(days=60))]
    page = editor_client.get(reverse("cases:case_detail", args=["MM-F-001"])).content.decode()
    assert "responses: VGPR" in page and "imaging: new or growing lesions" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "2026-05-10", "progression": "2026-04-01", "progression_basis": "laboratory"},
         "Progression cannot be before the start (10/05/2026)."),
        ({"start": "2026-05-10", "responses-0-when": "2026-06-01", "responses-0-response": "nCR"},
         "The response must be an IMWG category"),
        ({"start": "2026-05-10", "responses-0-when": "2026-04-20", "responses-0-response": "PR"},
         "cannot be before the start (10/05/2026)"),
        ({"start": "2026-05-10", "progression": "2026-07-01"}, "Say how the progression was established."),
        ({"start": "2025-01-10"}, "The treatment cannot start before the board&#x27;s decision"),
        ({"start": ""}, "Enter the day or month the treatment started."),
        ({"start": "10 May"}, "Enter a day as YYYY-MM-DD"),
        ({"start": (TODAY + timedelta(days=40)).isoformat()}, "This date is in the future."),
        ({"status": "not_started"}, "Say why the treatment was not started."),
        ({"status": "not_started", "not_started_reason": "patient_choice", "progression": "2026-07-01",
          "progression_basis": "clinical"}, "A treatment that has not started has no a progression."),
        ({"start": "2026-05-10", "death": "2026-06-01", "last_contact": "2026-07-01"},
         "The last contact cannot be after the death (01/06/2026)."),
    ],
)  # fmt: skip
def test_follow_up_refuses_what_cannot_be(editor_client, board_member, data, message):
    decision = decide(board_member, "MM-F-002", decided=date(2026, 5, 1))

    response = _post(editor_client, decision, **data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Outcome.objects.filter(decision=decision).exists()


def test_follow_up_not_started_records_the_reason_on_the_decision(editor_client, board_member):
    decision = decide(board_member, "MM-F-003")

    response = _post(editor_client, decision, status="not_started", not_started_reason="access",
                     last_contact=(TODAY - timedelta(days=3)).strftime("%Y-%m"))  # fmt: skip

    assert response.status_code == 302
    decision.refresh_from_db()
    assert (decision.status, decision.deviation_reason) == ("not_started", "access")
    assert decision.outcome.last_contact_precision == "month"


def test_follow_up_htmx_invalid_rerenders_the_form_partial(editor_client, board_member):
    decision = decide(board_member, "MM-F-004")

    response = editor_client.post(
        reverse("cases:follow_up", args=[decision.pk]),
        {"status": "started", "responses-TOTAL_FORMS": "2", "responses-INITIAL_FORMS": "0"},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="follow-up-form"') and "<html" not in html


@pytest.mark.parametrize("persona", ["board_client", "outsider_client"])
def test_follow_up_is_for_case_editors(request, persona, board_member):
    decision = decide(board_member, "MM-F-005")
    client = request.getfixturevalue(persona)

    assert client.get(reverse("cases:follow_up", args=[decision.pk])).status_code == 403


def test_home_follow_ups_due_link_straight_to_the_form(editor_client, board_member):
    decision = decide(board_member, "MM-F-006", follow_up=TODAY + timedelta(days=3))

    html = editor_client.get(reverse("home")).content.decode()

    assert f'href="{reverse("cases:follow_up", args=[decision.pk])}"' in html


# --- /outcomes/ -----------------------------------------------------------------------------------


def test_outcomes_forbidden_without_a_board_role(outsider_client):
    assert outsider_client.get(reverse("cases:outcomes")).status_code == 403
    assert Client().get(reverse("cases:outcomes")).status_code == 302


def test_outcomes_draws_a_curve_for_ten_patients_and_says_why_not_for_fewer(board_client, cohort, boston):
    html = board_client.get(reverse("cases:outcomes")).content.decode()

    figure = _figure(html, "km-pfs-regimen")
    curves = _kinds(figure, "km")
    assert [c["meta"]["group"] for c in curves] == ["SVD"]
    assert curves[0]["meta"]["n"] == 12
    assert _kinds(figure, "at_risk")[0]["meta"]["at_risk"][0] == 12
    assert _kinds(figure, "censored") and _kinds(figure, "ci_lower")
    assert "No curve for Kd" in html and "fewer than 10 patients" in html
    assert "SVd: median" in curves[0]["name"]


def test_outcomes_shows_the_trial_median_as_another_population_with_its_source(board_client, cohort, boston):
    html = board_client.get(reverse("cases:outcomes")).content.decode()

    (reference,) = _kinds(_figure(html, "km-pfs-regimen"), "trial_reference")
    assert reference["x"] == [13.5] and reference["y"] == [0.5]
    assert (
        "trial population, not this unit&#x27;s patients" in reference["name"]
        or "not this unit" in reference["name"]
    )
    assert "Different populations:" in html and 'role="note"' in html
    assert 'href="https://example.org/b"' in html


def test_outcomes_counts_concordance_deviations_and_time_to_start(board_client, cohort):
    html = board_client.get(reverse("cases:outcomes")).content.decode()

    shares = {t["meta"]["concordance"]: sum(t["meta"]["counts"]) for t in
              _kinds(_figure(html, "concordance-quarter"), "share")}  # fmt: skip
    assert shares == {"preferred": 13, "alternative": 3, "not_among_options": 1, "not_recommended": 1}
    assert "patient&#x27;s choice" in html or "patient's choice" in html
    assert "Median 10 days (interquartile range 10–10)" in html


def test_outcomes_filters_by_regimen_and_swaps_with_htmx(board_client, cohort):
    response = board_client.get(reverse("cases:outcomes"), {"regimen": "KD"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="outcomes"') and "<html" not in html
    assert "3 decisions in this selection" in html
    assert response["Vary"].count("HX-Request") == 1


def test_outcomes_shows_a_new_follow_up_at_once(board_client, board_member, cohort):
    before = _figure(board_client.get(reverse("cases:outcomes")).content.decode(), "km-pfs-regimen")

    follow(decide(board_member, "MM-O-999"), progression_days=45)
    after = _figure(board_client.get(reverse("cases:outcomes")).content.decode(), "km-pfs-regimen")

    assert _kinds(before, "km")[0]["meta"]["n"] == 12
    assert _kinds(after, "km")[0]["meta"]["n"] == 13


def test_chart_csv_and_patient_csv_carry_codes_never_notes(board_client, cohort):
    chart = board_client.get(reverse("cases:outcomes"), {"format": "csv", "chart": "km-pfs-regimen"})
    patients = board_client.get(reverse("cases:outcomes"), {"format": "csv", "chart": "patients"})

    assert chart["Content-Type"].startswith("text/csv")
    assert chart.content.decode().splitlines()[1].startswith("SVd,12,12,")
    body = patients.content.decode()
    assert "MM-O-000" in body and "MM-X-003" in body
    assert "Private note" not in body and "Synthetic rationale" not in body


@pytest.mark.parametrize(
    ("chart", "first_line"),
    [
        ("time-to-start", 'Treatments,Started,"Median, days","Interquartile range, days"'),
        ("deviations", "Reason,Decisions"),
        (
            "concordance-setting",
            "Setting,Decisions,preferred,alternative,not among the options,not recommended",
        ),
    ],
)
def test_every_chart_has_its_csv(board_client, cohort, chart, first_line):
    response = board_client.get(reverse("cases:outcomes"), {"format": "csv", "chart": chart})

    assert response.status_code == 200
    assert response.content.decode().splitlines()[0] == first_line
    assert board_client.get(reverse("cases:outcomes"), {"format": "csv", "chart": "nope"}).status_code == 404


def test_patient_list_needs_case_access(client, django_user_model, cohort):
    user = django_user_model.objects.create_user(username="reader", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="view_outcome"))
    client.force_login(user)

    page = client.get(reverse("cases:outcomes")).content.decode()
    patients = client.get(reverse("cases:outcomes"), {"format": "csv", "chart": "patients"})

    assert "patient-level CSV" not in page and "MM-O-000" not in page
    assert patients.status_code == 403


def test_demo_has_sixty_synthetic_decided_patients_and_curves(board_client, knowledge_base):
    call_command("load_demo", verbosity=0)

    html = board_client.get(reverse("cases:outcomes")).content.decode()

    synthetic = Decision.objects.filter(case__notes__startswith="Synthetic patient (invented)")
    assert synthetic.values("case").distinct().count() >= 60
    assert len(_kinds(_figure(html, "km-pfs-regimen"), "km")) >= 2
    assert len(_kinds(_figure(html, "km-ttnt-setting"), "km")) >= 2
    assert _kinds(_figure(html, "concordance-setting"), "share")
    assert ResponseAssessment.objects.exists()
