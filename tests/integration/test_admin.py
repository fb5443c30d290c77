"""Django admin: curators keep the knowledge base current.

Data here is synthetic (keys like TRIAL-A, REG-A; made-up numbers) and built
by the small helpers below, independent of the shipped evidence files.
"""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regimens.models import (
    Action,
    Agency,
    Approval,
    Caution,
    Drug,
    DrugClass,
    Endpoint,
    Phase,
    Regimen,
    RegimenComponent,
    RegulatoryEvent,
    Result,
    Route,
    Source,
    Trial,
    TrialArm,
    Unit,
)

pytestmark = pytest.mark.django_db

KNOWLEDGE_BASE_MODELS = [
    "source",
    "drug",
    "caution",
    "regulatoryevent",
    "regimen",
    "regimencomponent",
    "approval",
    "action",
    "trial",
    "trialarm",
    "result",
]


# ---------------------------------------------------------------------------
# Synthetic data


def make_source(key: str = "src-a") -> Source:
    return Source.objects.create(
        key=key,
        citation=f"Synthetic A, et al. Test Journal. 2020;1:1-2 ({key})",
        doi=f"10.0000/{key}",
        pmid="10000001",
        url=f"https://example.org/{key}",
    )


def make_drug(key: str = "DRUG-A", drug_class: str = DrugClass.PROTEASOME_INHIBITOR) -> Drug:
    return Drug.objects.create(key=key, name=key.lower(), drug_class=drug_class, route=Route.ORAL)


def make_regimen(key: str = "REG-A", drugs: list[Drug] | None = None) -> Regimen:
    regimen = Regimen.objects.create(
        key=key,
        abbreviation=key.title().replace("-", ""),
        name=f"synthetic regimen {key}",
        aliases=[f"{key}-ALT"],
    )
    for order, drug in enumerate(drugs or []):
        RegimenComponent.objects.create(regimen=regimen, drug=drug, order=order)
    return regimen


def make_trial(key: str = "TRIAL-A", regimen: Regimen | None = None, **fields) -> Trial:
    trial = Trial.objects.create(
        key=key,
        name=key.title(),
        nct="NCT00000001",
        phase=Phase.P3,
        prior_lines_min=1,
        prior_lines_max=3,
        **fields,
    )
    TrialArm.objects.create(
        trial=trial, key="exp", label=f"Experimental arm of {key}", regimen=regimen, n=100
    )
    TrialArm.objects.create(trial=trial, key="ctl", label=f"Control arm of {key}", n=100, order=1)
    return trial


def make_result(trial: Trial, source: Source, **fields) -> Result:
    arms = {arm.key: arm for arm in trial.arms.all()}
    values = {
        "endpoint": Endpoint.PFS_MEDIAN,
        "arm": arms["exp"],
        "value": 13.3,
        "ci_low": 11.8,
        "ci_high": 16.1,
        "unit": Unit.MONTHS,
        "analysis": "synthetic interim analysis",
        "source": source,
    } | fields
    return Result.objects.create(trial=trial, **values)


def build_kb(tag: str = "A") -> SimpleNamespace:
    """One row of every knowledge-base model (more for regimens and results), keys ending in `tag`."""
    source = make_source(f"src-{tag.lower()}")
    drug = make_drug(f"DRUG-{tag}")
    steroid = make_drug(f"DRUG-S{tag}", DrugClass.CORTICOSTEROID)
    regimen = make_regimen(f"REG-{tag}", [drug, steroid])
    trial = make_trial(f"TRIAL-{tag}", regimen, len_refractory_pct=40.0)
    trial.sources.add(source)
    result = make_result(trial, source)
    hazard_ratio = make_result(
        trial,
        source,
        endpoint=Endpoint.PFS_HR,
        vs=trial.arms.get(key="ctl"),
        value=0.5,
        ci_low=0.4,
        ci_high=0.7,
        unit=Unit.RATIO,
        order=1,
    )
    return SimpleNamespace(
        source=source,
        drug=drug,
        caution=Caution.objects.create(drug=drug, key="synthetic_caution", source=source),
        regulatoryevent=RegulatoryEvent.objects.create(
            drug=drug, agency=Agency.EMA, year=2020, event="synthetic withdrawal", source=source
        ),
        regimen=regimen,
        regimencomponent=regimen.components.first(),
        approval=Approval.objects.create(
            regimen=regimen, agency=Agency.EMA, year=2020, indication="synthetic indication", source=source
        ),
        action=Action.objects.create(key=f"ACTION-{tag}", label=f"Synthetic action {tag}", source=source),
        trial=trial,
        trialarm=trial.arms.get(key="exp"),
        result=result,
        hazard_ratio=hazard_ratio,
    )


@pytest.fixture
def kb(db) -> SimpleNamespace:
    return build_kb("A")


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:regimens_{model}_{view}", args=args)


def form_data(response) -> dict[str, str]:
    """The POST data of an admin change form as it was rendered (main form and inlines)."""
    data: dict[str, str] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            data[bound.html_name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def post_change(client, model: str, obj, **changes):
    url = admin_url(model, "change", obj.pk)
    data = form_data(client.get(url)) | {name: str(value) for name, value in changes.items()}
    data = {name: value for name, value in data.items() if value != "None"}
    return client.post(url, data)


def errors_of(response) -> dict[str, list[str]]:
    """Field errors of the main form and of every inline row, by field name."""
    errors: dict[str, list[str]] = {}
    form = response.context["adminform"].form
    for name, messages in form.errors.items():
        errors.setdefault(name, []).extend(messages)
    for inline in response.context["inline_admin_formsets"]:
        for row in inline.formset.errors:
            for name, messages in row.items():
                errors.setdefault(name, []).extend(messages)
    return errors


# ---------------------------------------------------------------------------
# Who may enter


def test_admin_index_shows_curation_header_for_curator(curator_client):
    response = curator_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "mmboard curation" in response.text
    assert "Knowledge base" in response.text


@pytest.mark.parametrize("model", KNOWLEDGE_BASE_MODELS)
def test_changelist_opens_for_curator(curator_client, kb, model):
    response = curator_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", KNOWLEDGE_BASE_MODELS)
def test_change_page_opens_with_history_for_curator(curator_client, kb, model):
    obj = getattr(kb, model)

    response = curator_client.get(admin_url(model, "change", obj.pk))
    history = curator_client.get(admin_url(model, "history", obj.pk))

    assert response.status_code == 200
    assert admin_url(model, "history", obj.pk) in response.text
    assert history.status_code == 200


@pytest.mark.parametrize("model", KNOWLEDGE_BASE_MODELS)
def test_add_page_opens_for_curator(curator_client, kb, model):
    response = curator_client.get(admin_url(model, "add"))

    assert response.status_code == 200


def test_admin_redirects_board_member_without_staff_status_to_login(board_client, kb):
    response = board_client.get(admin_url("trial", "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_login_page_tells_board_member_they_lack_access(board_client):
    response = board_client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert "not authorized to access this page" in response.text


def test_admin_redirects_outsider_to_login(outsider_client, kb):
    response = outsider_client.get(admin_url("result", "change", kb.result.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_redirects_anonymous_visitor_to_login(client, kb):
    response = client.get(admin_url("source", "changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_curator_cannot_manage_user_accounts(curator_client):
    response = curator_client.get(reverse("admin:auth_user_changelist"))

    assert response.status_code == 403


def test_outsider_with_staff_status_but_no_role_sees_no_knowledge_base(client, django_user_model, kb):
    staff = django_user_model.objects.create_user(username="staff-no-role", is_staff=True)
    client.force_login(staff)

    response = client.get(admin_url("trial", "changelist"))

    assert response.status_code == 403


def test_curator_can_delete_an_unused_source(curator_client):
    source = make_source("unused")

    response = curator_client.post(admin_url("source", "delete", source.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Source.objects.filter(pk=source.pk).exists()


def test_deleting_a_cited_source_is_refused_with_the_rows_that_cite_it(curator_client, kb):
    response = curator_client.post(admin_url("source", "delete", kb.source.pk), {"post": "yes"})

    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in response.text
    assert Source.objects.filter(pk=kb.source.pk).exists()


# ---------------------------------------------------------------------------
# Changelists show what a curator looks for


def test_result_changelist_shows_value_with_ci_and_source(curator_client, kb):
    response = curator_client.get(admin_url("result", "changelist"))

    assert "13.3 months (95% CI 11.8–16.1)" in response.text
    assert "0.5 (95% CI 0.4–0.7)" in response.text
    assert f'title="{kb.source.citation}">{kb.source.key}<' in response.text


def test_trial_changelist_counts_arms_and_results(curator_client, kb):
    response = curator_client.get(admin_url("trial", "changelist"))

    row = response.context["cl"].result_list[0]
    assert (row.arm_count, row.result_count) == (2, 2)
    assert "40%" in response.text
    assert "https://clinicaltrials.gov/study/NCT00000001" in response.text


def test_regimen_changelist_shows_drug_classes_and_approvals(curator_client, kb):
    response = curator_client.get(admin_url("regimen", "changelist"))

    assert "Proteasome inhibitor, Corticosteroid" in response.text
    assert "EMA 2020" in response.text


@pytest.mark.parametrize(
    ("model", "term", "expected"),
    [
        ("trial", "NCT00000001", "TRIAL-A"),
        ("regimen", "REG-A-ALT", "REG-A"),  # an alias
        ("source", "10000001", "src-a"),  # a PMID
        ("source", "10.0000/src-a", "src-a"),  # a DOI
        ("result", "10000001", "synthetic interim"),  # a result by its source's PMID
    ],
)
def test_changelist_search_finds_row(curator_client, kb, model, term, expected):
    response = curator_client.get(admin_url(model, "changelist"), {"q": term})

    assert response.context["cl"].result_count >= 1
    assert expected in response.text


def test_regimen_changelist_filters_by_drug_class(curator_client, kb):
    make_regimen("REG-B", [make_drug("DRUG-B", DrugClass.ANTI_CD38)])

    response = curator_client.get(
        admin_url("regimen", "changelist"), {"components__drug__drug_class": DrugClass.ANTI_CD38}
    )

    assert [regimen.key for regimen in response.context["cl"].result_list] == ["REG-B"]


def test_result_arm_autocomplete_names_the_trial(curator_client, kb):
    response = curator_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "regimens", "model_name": "result", "field_name": "arm", "term": "TRIAL-A"},
    )

    assert response.status_code == 200
    labels = [item["text"] for item in response.json()["results"]]
    assert "Trial-A — Experimental arm of TRIAL-A" in labels


# ---------------------------------------------------------------------------
# Validation a curator understands


def test_result_change_with_ci_not_containing_value_shows_message(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, value="13.3", ci_low="11.8", ci_high="12.0")

    assert response.status_code == 200
    assert errors_of(response) == {"ci_high": ["The 95% CI 11.8–12.0 does not contain the value 13.3."]}
    kb.result.refresh_from_db()
    assert kb.result.ci_high == 16.1


def test_result_change_with_ci_low_above_value_flags_lower_bound(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, value="10", ci_low="11.8")

    assert errors_of(response) == {"ci_low": ["The 95% CI 11.8–16.1 does not contain the value 10."]}


def test_result_change_with_reversed_ci_flags_both_bounds(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, ci_low="16.1", ci_high="11.8")

    errors = errors_of(response)
    assert errors["ci_high"] == ["The upper bound 11.8 is below the lower bound 16.1."]
    assert errors["ci_low"] == ["The 95% CI 16.1–11.8 does not contain the value 13.3."]


def test_result_change_with_percentage_above_100_shows_message(curator_client, kb):
    response = post_change(
        curator_client,
        "result",
        kb.result,
        endpoint=Endpoint.ORR,
        unit=Unit.PERCENT,
        value="130",
        ci_low="",
        ci_high="",
    )

    assert errors_of(response) == {"value": ["A percentage is between 0 and 100, not 130."]}


def test_result_change_with_unit_not_matching_endpoint_shows_message(curator_client, kb):
    response = post_change(
        curator_client, "result", kb.result, endpoint=Endpoint.ORR, value="71", ci_low="", ci_high=""
    )

    assert errors_of(response) == {"unit": ["The unit of overall response rate is “%”: choose “%”."]}


def test_result_change_without_value_asks_for_value_or_not_reached(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, value="", ci_low="", ci_high="")

    assert errors_of(response) == {
        "value": ["Enter the value, or tick “not reached” if the median was not reached."]
    }


def test_result_change_not_reached_with_value_shows_message(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, not_reached="on")

    assert errors_of(response) == {
        "value": ["Leave the value empty when the median was not reached, or untick “not reached”."]
    }


def test_result_change_not_reached_median_without_value_is_saved(curator_client, kb):
    response = post_change(
        curator_client, "result", kb.result, not_reached="on", value="", ci_low="34.5", ci_high=""
    )

    assert response.status_code == 302
    kb.result.refresh_from_db()
    assert (kb.result.value_label, kb.result.ci_label) == ("not reached", "95% CI 34.5–NE")


def test_result_change_not_reached_for_response_rate_shows_message(curator_client, kb):
    response = post_change(
        curator_client,
        "result",
        kb.result,
        endpoint=Endpoint.ORR,
        unit=Unit.PERCENT,
        not_reached="on",
        value="",
        ci_low="",
        ci_high="",
    )

    assert errors_of(response) == {
        "not_reached": [
            "Only a median can be “not reached”; overall response rate needs a value. Untick “not reached”."
        ]
    }


def test_result_change_hazard_ratio_without_comparator_shows_message(curator_client, kb):
    response = post_change(curator_client, "result", kb.hazard_ratio, vs="")

    assert errors_of(response) == {
        "vs": [
            "A hazard ratio compares two arms: choose the comparator arm "
            "(the arm it is measured against, e.g. the control arm)."
        ]
    }


def test_result_change_comparator_same_as_arm_shows_message(curator_client, kb):
    response = post_change(curator_client, "result", kb.hazard_ratio, vs=kb.hazard_ratio.arm_id)

    assert errors_of(response) == {
        "vs": ["The comparator must be another arm of the trial, not the arm itself."]
    }


def test_result_change_comparator_from_another_trial_shows_message(curator_client, kb):
    other = make_trial("TRIAL-B")

    response = post_change(curator_client, "result", kb.hazard_ratio, vs=other.arms.get(key="ctl").pk)

    assert errors_of(response) == {
        "vs": [
            "The comparator arm must be another arm of Trial-A; “Control arm of TRIAL-B” belongs to Trial-B."
        ]
    }


def test_result_change_arm_from_another_trial_shows_message(curator_client, kb):
    other = make_trial("TRIAL-B")

    response = post_change(curator_client, "result", kb.result, arm=other.arms.get(key="exp").pk)

    assert errors_of(response) == {
        "arm": [
            "The arm “Experimental arm of TRIAL-B” belongs to Trial-B, not to Trial-A: choose an arm of Trial-A."
        ]
    }


def test_result_change_ci_level_as_percent_shows_message(curator_client, kb):
    response = post_change(curator_client, "result", kb.result, ci_level="95")

    assert errors_of(response) == {
        "ci_level": ["Write the CI level as a fraction between 0 and 1, e.g. 0.95 (0.95 for a 95% CI)."]
    }


def test_result_change_valid_is_saved_with_history_of_the_curator(curator_client, curator, kb):
    response = post_change(curator_client, "result", kb.result, value="14.1", ci_high="17.0")

    assert response.status_code == 302
    kb.result.refresh_from_db()
    assert kb.result.value == 14.1
    latest = kb.result.history.latest()
    assert (latest.history_type, latest.history_user) == ("~", curator)
    history = curator_client.get(admin_url("result", "history", kb.result.pk))
    assert "curator" in history.text


QUOTE = "median PFS was 13.3 months (95% CI, 11.8-16.1)"


@pytest.mark.parametrize("model", ["result", "caution", "approval"])
def test_quote_is_edited_saved_and_listed(curator_client, kb, model):
    obj = getattr(kb, model)

    response = post_change(curator_client, model, obj, quote=QUOTE)

    assert response.status_code == 302
    obj.refresh_from_db()
    assert obj.quote == QUOTE
    changelist = curator_client.get(admin_url(model, "changelist"))
    assert '<th scope="col" class="sortable column-has_quote">' in changelist.text
    assert 'alt="True"' in changelist.text  # the quote column ticks the row
    assert QUOTE in curator_client.get(admin_url(model, "change", obj.pk)).text


@pytest.mark.parametrize("model", ["result", "caution", "approval"])
def test_quote_over_30_words_shows_message(curator_client, kb, model):
    response = post_change(curator_client, model, getattr(kb, model), quote=" ".join(["word"] * 31))

    assert response.status_code == 200
    assert errors_of(response) == {
        "quote": [
            "A quote is the verbatim phrase the fact was read from, at most 30 words; this one has 31. "
            "Keep the words that state the fact."
        ]
    }


def test_caution_quote_without_source_shows_message(curator_client, kb):
    response = post_change(curator_client, "caution", kb.caution, quote=QUOTE, source="")

    assert errors_of(response) == {
        "source": ["A quote is read from a source: choose the source the quote comes from."]
    }


def test_trial_change_with_percent_out_of_range_shows_message(curator_client, kb):
    response = post_change(curator_client, "trial", kb.trial, len_refractory_pct="120")

    assert response.status_code == 200
    assert errors_of(response) == {
        "len_refractory_pct": ["A percentage of patients is between 0 and 100, not 120."]
    }


def test_trial_change_with_prior_lines_min_above_max_shows_message(curator_client, kb):
    response = post_change(curator_client, "trial", kb.trial, prior_lines_min="4", prior_lines_max="2")

    assert errors_of(response) == {
        "prior_lines_max": [
            "The maximum number of prior lines (2) is below the minimum (4). "
            "Leave the maximum empty if there was no upper limit."
        ]
    }


def test_trial_change_with_malformed_nct_shows_message(curator_client, kb):
    response = post_change(curator_client, "trial", kb.trial, nct="NCT123")

    assert list(errors_of(response)) == ["nct"]


def test_trial_change_normalises_nct_and_keeps_history(curator_client, curator, kb):
    versions = kb.trial.history.count()

    response = post_change(curator_client, "trial", kb.trial, nct=" nct01234567 ")

    assert response.status_code == 302
    kb.trial.refresh_from_db()
    assert kb.trial.nct == "NCT01234567"
    assert kb.trial.history.count() == versions + 1
    assert kb.trial.history.latest().history_user == curator


def test_trial_change_with_lower_case_key_shows_message(curator_client, kb):
    response = post_change(curator_client, "trial", kb.trial, key="trial-a")

    assert list(errors_of(response)) == ["key"]


def test_trial_results_inline_offers_only_the_trials_arms(curator_client, kb):
    other = make_trial("TRIAL-B")

    response = curator_client.get(admin_url("trial", "change", kb.trial.pk))

    formset = next(i.formset for i in response.context["inline_admin_formsets"] if i.formset.model is Result)
    choices = [label for _, label in formset.forms[0].fields["arm"].choices]
    assert choices == ["---------", "exp · RegA", "ctl · Control arm of TRIA…"]
    assert "Control arm of TRIAL-B" not in response.text
    assert other.arms.count() == 2


def test_trial_results_inline_shows_ci_message_on_the_row(curator_client, kb):
    url = admin_url("trial", "change", kb.trial.pk)
    data = form_data(curator_client.get(url))
    row = next(name for name, value in data.items() if name.endswith("-ci_high") and value == "16.1")

    response = curator_client.post(url, data | {row: "12.0"})

    assert response.status_code == 200
    assert errors_of(response) == {"ci_high": ["The 95% CI 11.8–12.0 does not contain the value 13.3."]}


def test_trial_results_inline_adds_a_result(curator_client, kb):
    url = admin_url("trial", "change", kb.trial.pk)
    data = form_data(curator_client.get(url))
    data |= {
        "results-TOTAL_FORMS": "3",
        "results-2-endpoint": Endpoint.ORR,
        "results-2-population": "ITT",
        "results-2-arm": str(kb.trialarm.pk),
        "results-2-value": "71",
        "results-2-unit": Unit.PERCENT,
        "results-2-ci_level": "0.95",
        "results-2-analysis": "synthetic final analysis",
        "results-2-source": str(kb.source.pk),
    }

    response = curator_client.post(url, data)

    assert response.status_code == 302, errors_of(response)
    added = kb.trial.results.get(endpoint=Endpoint.ORR)
    assert (added.value_label, added.order) == ("71%", 2)  # after the trial's other results


def test_trial_add_page_offers_arms_but_not_yet_results(curator_client):
    response = curator_client.get(admin_url("trial", "add"))

    models = [inline.formset.model for inline in response.context["inline_admin_formsets"]]
    assert models == [TrialArm]


def test_approval_change_with_year_out_of_range_shows_message(curator_client, kb):
    response = post_change(curator_client, "approval", kb.approval, year="1980")

    assert errors_of(response) == {
        "year": [
            "Enter the year of the decision, between 1990 and 2100 (or leave it empty if no source gives it)."
        ]
    }


def test_approval_change_with_date_in_another_year_shows_message(curator_client, kb):
    response = post_change(curator_client, "approval", kb.approval, year="2020", date="2021-03-02")

    assert errors_of(response) == {"date": ["The date 02 Mar 2021 is not in the year 2020."]}


def test_approval_change_with_date_and_no_year_takes_the_year_of_the_date(curator_client, kb):
    response = post_change(curator_client, "approval", kb.approval, year="", date="2021-03-02")

    assert response.status_code == 302
    kb.approval.refresh_from_db()
    assert kb.approval.year == 2021


def test_regimen_inline_approval_with_year_out_of_range_shows_message(curator_client, kb):
    url = admin_url("regimen", "change", kb.regimen.pk)
    data = form_data(curator_client.get(url)) | {"approvals-0-year": "3000"}

    response = curator_client.post(url, data)

    assert response.status_code == 200
    assert errors_of(response) == {
        "year": [
            "Enter the year of the decision, between 1990 and 2100 (or leave it empty if no source gives it)."
        ]
    }


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        (
            '"Reg-A"',
            'Write the aliases as a list in square brackets, e.g. ["Isa-Kd", "IsaKD"] (or [] for none).',
        ),
        (
            '["Reg-A", 3]',
            'Each alias is a spelling in double quotes, e.g. ["Isa-Kd", "IsaKD"]; 3 is not.',
        ),
        ("Reg-A, RegA", 'Write the aliases as a list in square brackets, e.g. ["Isa-Kd", "IsaKD"].'),
    ],
)
def test_regimen_change_with_malformed_aliases_shows_message(curator_client, kb, aliases, message):
    response = post_change(curator_client, "regimen", kb.regimen, aliases=aliases)

    assert response.status_code == 200
    assert errors_of(response) == {"aliases": [message]}


def test_regimen_change_with_empty_aliases_saves_an_empty_list(curator_client, kb):
    response = post_change(curator_client, "regimen", kb.regimen, aliases="")

    assert response.status_code == 302
    kb.regimen.refresh_from_db()
    assert kb.regimen.aliases == []


# ---------------------------------------------------------------------------
# Constant queries with realistic volume


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", KNOWLEDGE_BASE_MODELS)
def test_changelist_queries_do_not_grow_with_rows(curator_client, model):
    url = admin_url(model, "changelist")
    build_kb("A")
    curator_client.get(url)  # warm the content-type cache
    few = _count_queries(curator_client, url)
    for tag in "BCDEFGHIJKL":
        build_kb(tag)

    many = _count_queries(curator_client, url)

    assert many == few


@pytest.mark.parametrize("model", ["drug", "regimen", "trial"])
def test_change_page_queries_do_not_grow_with_inline_rows(curator_client, model):
    kb = build_kb("A")
    url = admin_url(model, "change", getattr(kb, model).pk)
    curator_client.get(url)
    few = _count_queries(curator_client, url)
    for i in range(10):
        Caution.objects.create(drug=kb.drug, key=f"caution_{i}", source=make_source(f"caution-{i}"), order=i)
        RegulatoryEvent.objects.create(
            drug=kb.drug, agency=Agency.FDA, year=2021, event="x", source=kb.source
        )
        RegimenComponent.objects.create(regimen=kb.regimen, drug=make_drug(f"DRUG-X{i}"), order=i + 2)
        Approval.objects.create(
            regimen=kb.regimen, agency=Agency.FDA, year=2021, indication="x", source=make_source(f"appr-{i}")
        )
        make_result(kb.trial, make_source(f"res-{i}"), endpoint=Endpoint.ORR, value=50, ci_low=None, ci_high=None,
                    unit=Unit.PERCENT, order=i + 2)  # fmt: skip

    many = _count_queries(curator_client, url)

    assert many == few


def _bulk_trials(count: int, results_per_trial: int, source: Source) -> list[Trial]:
    regimen = make_regimen("REG-BULK", [make_drug("DRUG-BULK")])
    trials = Trial.objects.bulk_create(
        Trial(key=f"TRIAL-{i:03}", name=f"Trial {i:03}", phase=Phase.P3, len_refractory_pct=i % 100)
        for i in range(count)
    )
    arms = TrialArm.objects.bulk_create(
        TrialArm(
            trial=trial, key=key, label=f"{key} arm", regimen=regimen if key == "exp" else None, order=order
        )
        for trial in trials
        for order, key in enumerate(["exp", "ctl"])
    )
    by_trial: dict[int, list[TrialArm]] = {}
    for arm in arms:
        by_trial.setdefault(arm.trial_id, []).append(arm)
    Result.objects.bulk_create(
        Result(
            trial=trial,
            endpoint=Endpoint.PFS_HR if i % 2 else Endpoint.PFS_MEDIAN,
            arm=by_trial[trial.pk][0],
            vs=by_trial[trial.pk][1] if i % 2 else None,
            value=0.5 if i % 2 else 10.0 + i,
            ci_low=0.4 if i % 2 else 9.0 + i,
            ci_high=0.6 if i % 2 else 12.0 + i,
            unit=Unit.RATIO if i % 2 else Unit.MONTHS,
            analysis=f"synthetic analysis {i}",
            source=source,
            order=i,
        )
        for trial in trials
        for i in range(results_per_trial)
    )
    return trials


def test_result_changelist_queries_do_not_grow_with_rows(curator_client, django_assert_max_num_queries):
    _bulk_trials(20, 10, make_source())  # 200 results

    # session, user, 2 permission lookups, 2 counts, population filter, trial filter, the page
    with django_assert_max_num_queries(10):
        response = curator_client.get(admin_url("result", "changelist"), {"all": ""})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 200


def test_trial_changelist_queries_do_not_grow_with_rows(curator_client, django_assert_max_num_queries):
    _bulk_trials(120, 5, make_source())

    with django_assert_max_num_queries(8):
        response = curator_client.get(admin_url("trial", "changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 100


def test_regimen_changelist_queries_do_not_grow_with_rows(curator_client, kb, django_assert_max_num_queries):
    source = kb.source
    drug = kb.drug
    for i in range(60):
        regimen = make_regimen(f"REG-{i:03}", [drug])
        Approval.objects.create(regimen=regimen, agency=Agency.FDA, year=2021, indication="x", source=source)

    with django_assert_max_num_queries(10):
        response = curator_client.get(admin_url("regimen", "changelist"))

    assert response.status_code == 200


def test_trial_change_page_queries_do_not_grow_with_results(curator_client, django_assert_max_num_queries):
    (trial,) = _bulk_trials(1, 40, make_source())

    with django_assert_max_num_queries(11):
        response = curator_client.get(admin_url("trial", "change", trial.pk))

    assert response.status_code == 200
    assert "synthetic analysis 39" in response.text
