"""Cases and therapy lines: permissions, derived facts, validation, concurrency, query counts."""

from datetime import date

import pytest
from django.urls import reverse

from cases import services
from cases.models import Case, FactOverride, TherapyLine
from tests.integration.factories import HTMX, make_case, vrd_asct_r

pytestmark = pytest.mark.django_db


CASE_POST = {
    "code": "MM-T-002", "age_at_diagnosis": "64", "sex": "F", "diagnosis": "2022-05", "iss": "II", "r_iss": "II",
    "del_17p": "absent", "t_4_14": "absent", "t_14_16": "absent", "gain_1q": "absent", "t_11_14": "unknown",
    "frailty": "fit", "ecog": "1", "cardiovascular_risk": "none", "peripheral_neuropathy_grade": "0",
    "crcl_ml_min": "80", "ocular_surface_disease": "no", "car_t_eligible": "yes", "car_t_notes": "",
    "prefers_fewer_hospital_visits": "unknown", "current_relapse": "", "notes": "",
}  # fmt: skip

LINE_POST = {
    "number": "1", "regimen": "", "regimen_text": "VRd", "drug_keys": ["BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"],
    "start": "2021-02", "end": "2025-03", "asct": "on", "asct_date": "2021-07",
    "maintenance_drug_keys": ["LENALIDOMIDE"], "maintenance_start": "2021-10", "len_dose_at_progression_mg": "10",
    "best_response": "VGPR", "outcome": "progression_on_therapy", "progression": "2025-03", "notes": "",
}  # fmt: skip


# --- Permissions ---------------------------------------------------------------------------------------


def _urls(case: Case) -> dict[str, str]:
    return {
        "list": reverse("cases:case_list"),
        "detail": reverse("cases:case_detail", args=[case.code]),
        "create": reverse("cases:case_create"),
        "edit": reverse("cases:case_edit", args=[case.code]),
        "line": reverse("cases:line_create", args=[case.code]),
    }


@pytest.mark.parametrize("persona", ["outsider_client", "curator_client"])
@pytest.mark.parametrize("page", ["list", "detail", "create", "edit", "line"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "partial"])
def test_case_pages_forbidden_without_a_case_role(request, persona, page, headers):
    client = request.getfixturevalue(persona)
    case = make_case()
    assert client.get(_urls(case)[page], **headers).status_code == 403


@pytest.mark.parametrize(
    ("page", "status"), [("list", 200), ("detail", 200), ("create", 403), ("edit", 403), ("line", 403)]
)
def test_case_pages_board_member_reads_but_does_not_edit(board_client, page, status):
    case = make_case()
    assert board_client.get(_urls(case)[page]).status_code == status


def test_case_override_post_forbidden_for_board_member(board_client):
    case = make_case()
    url = reverse("cases:override_set", args=[case.code])
    response = board_client.post(url, {"fact": "len_status", "value": "refractory", "reason": "x"}, **HTMX)
    assert response.status_code == 403
    assert not FactOverride.objects.exists()


def test_case_pages_anonymous_redirected_to_login(client):
    response = client.get(reverse("cases:case_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Creating and reading ------------------------------------------------------------------------------


def test_case_create_plain_post_redirects_to_the_case(editor_client):
    response = editor_client.post(reverse("cases:case_create"), CASE_POST)
    assert response.status_code == 302
    case = Case.objects.get(code="MM-T-002")
    assert response["Location"] == case.get_absolute_url()
    assert case.diagnosis == date(2022, 5, 1)
    assert case.history.count() == 1


def test_case_create_invalid_rerenders_partial_with_200(editor_client):
    data = {**CASE_POST, "code": "Mario Rossi", "age_at_diagnosis": "7", "diagnosis": "May 2022"}
    response = editor_client.post(reverse("cases:case_create"), data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "capital letters, digits and hyphens" in html
    assert "YYYY-MM" in html
    assert not Case.objects.exists()


def test_line_create_htmx_vrd_asct_maintenance_derives_len_refractory(editor_client, drugs):
    case = make_case()
    response = editor_client.post(reverse("cases:line_create", args=[case.code]), LINE_POST, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == case.get_absolute_url()
    html = editor_client.get(case.get_absolute_url()).content.decode()
    assert "refractory: progressed on line 1 maintenance, lenalidomide 10 mg, 03/2025" in html
    assert 'data-plotly="timeline-figure"' in html
    assert 'id="timeline-figure"' in html
    assert f'href="{reverse("algorithm")}?' in html
    assert "len_status=refractory" in html


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2020-01"}, "The last dose cannot be before the start"),
        ({"regimen": "NOT-A-REGIMEN", "regimen_text": ""}, "Unknown regimen"),
        ({"best_response": "GREAT"}, "IMWG category"),
        ({"number": "3"}, "the next line is 1"),
        ({"outcome": "ongoing"}, "An ongoing line has no last dose"),
        ({"drug_keys": [], "other_drug_classes": []}, "Tick the drugs"),
        ({"start": "soon"}, "YYYY-MM"),
        ({"asct_date": ""}, "month of the ASCT"),
    ],
)
def test_line_create_invalid_shows_message_never_500(editor_client, drugs, change, message):
    case = make_case()
    response = editor_client.post(
        reverse("cases:line_create", args=[case.code]), {**LINE_POST, **change}, **HTMX
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not case.lines.exists()


def test_line_create_out_of_order_start_is_rejected(editor_client, drugs):
    case = make_case()
    vrd_asct_r(case)
    data = {**LINE_POST, "number": "2", "start": "2020-01", "end": "2020-06", "asct": "", "asct_date": "",
            "maintenance_drug_keys": [], "maintenance_start": "", "len_dose_at_progression_mg": "",
            "progression": "2020-06"}  # fmt: skip
    response = editor_client.post(reverse("cases:line_create", args=[case.code]), data)
    assert response.status_code == 200
    assert "Line numbers out of order" in response.content.decode()


def test_line_edit_with_knowledge_base_regimen(editor_client, drd):
    case = make_case()
    vrd_asct_r(case)
    data = {**LINE_POST, "regimen": "DRD", "regimen_text": "", "drug_keys": [], "asct": "", "asct_date": "",
            "maintenance_drug_keys": [], "maintenance_start": "", "len_dose_at_progression_mg": ""}  # fmt: skip
    response = editor_client.post(reverse("cases:line_edit", args=[case.code, 1]), data)
    assert response.status_code == 302
    line = case.lines.get()
    assert line.regimen == drd
    facts = services.case_facts(Case.objects.for_detail().get(pk=case.pk))
    assert facts["anti_cd38_status"].value == "refractory"
    assert line.history.count() == 2


def test_override_is_recorded_with_reason_and_shown(editor_client, drugs):
    case = make_case()
    vrd_asct_r(case)
    url = reverse("cases:override_set", args=[case.code])
    response = editor_client.post(
        url, {"fact": "len_status", "value": "exposed_sensitive", "reason": "dose 5 mg"}
    )
    assert response.status_code == 302
    override = FactOverride.objects.get()
    assert override.reason == "dose 5 mg"
    assert override.history.count() == 1
    html = editor_client.get(case.get_absolute_url()).content.decode()
    assert "overridden by editor: dose 5 mg" in html
    bad = editor_client.post(url, {"fact": "len_status", "value": "very", "reason": "x"}, **HTMX)
    assert bad.status_code == 200
    assert "Choose one of" in bad.content.decode()


# --- Optimistic concurrency ---------------------------------------------------------------------------


def test_case_edit_second_editor_gets_conflict_and_keeps_input(client, django_user_model, case_editor):
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user("editor2", password="a-long-test-password-9")
    other.groups.add(Group.objects.get(name="Case editor"))
    case = make_case(code="MM-T-002", age_at_diagnosis=64, diagnosis=date(2022, 5, 1))
    url = reverse("cases:case_edit", args=[case.code])

    client.force_login(case_editor)
    first = client.post(url, {**CASE_POST, "version": "1", "ecog": "2"})
    assert first.status_code == 302

    client.force_login(other)
    second = client.post(url, {**CASE_POST, "version": "1", "notes": "my careful note"})
    assert second.status_code == 200
    html = second.content.decode()
    assert "Another editor saved this case" in html
    assert "my careful note" in html
    assert "ECOG: 2" in html
    case.refresh_from_db()
    assert case.ecog == 2
    assert case.notes == ""
    assert case.version == 2

    third = client.post(url, {**CASE_POST, "version": "2", "notes": "my careful note", "ecog": "2"})
    assert third.status_code == 302
    case.refresh_from_db()
    assert (case.notes, case.version) == ("my careful note", 3)


# --- Query counts -------------------------------------------------------------------------------------


def test_case_list_query_count_at_1000_cases(board_client, django_assert_max_num_queries):
    Case.objects.bulk_create(
        Case(code=f"MM-Q-{i:04d}", age_at_diagnosis=60, sex="F", diagnosis=date(2020, 1, 1))
        for i in range(1000)
    )
    with django_assert_max_num_queries(6):
        response = board_client.get(reverse("cases:case_list"), {"page": "3"})
    html = response.content.decode()
    assert "MM-Q-0100" in html
    assert "Page 3 of 20" in html


def test_case_page_query_count_constant(board_client, drd, django_assert_max_num_queries):
    case = make_case()
    vrd_asct_r(case)
    for number in range(2, 8):
        TherapyLine.objects.create(case=case, number=number, regimen=drd, start=date(2025, number, 1),
                                   end=date(2025, number, 1), outcome="progression_on_therapy")  # fmt: skip
    with django_assert_max_num_queries(16):
        response = board_client.get(case.get_absolute_url())
    assert response.status_code == 200
    assert "Line 7" in response.content.decode()


def test_case_list_htmx_search_returns_results_partial(board_client):
    make_case(code="MM-T-001")
    make_case(code="MM-X-002")
    response = board_client.get(reverse("cases:case_list"), {"q": "x-0"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "MM-X-002" in html and "MM-T-001" not in html
    assert "HX-Request" in response["Vary"]
