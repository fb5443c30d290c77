"""Curating the algorithm in admin: copy to a draft, edit, publish; published versions stay read-only."""

import json

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from algorithm import services
from algorithm.versions import publish
from cases.models import Decision
from regimens.evidence import EVIDENCE_DIR
from regimens.models import (
    AlgorithmModifier,
    AlgorithmOption,
    AlgorithmStatus,
    AlgorithmVersion,
    ImpactRun,
    PublishedVersionError,
)
from tests.integration.factories import make_case

ALGORITHM_FILE = EVIDENCE_DIR / "algorithm.yaml"

pytestmark = pytest.mark.django_db

DOUBLE_REFRACTORY = {
    "len_status": "refractory",
    "anti_cd38_status": "refractory",
    "anti_cd38_agent_last": "daratumumab",
    "prior_lines": 2,
}
CHANGELIST = "admin:regimens_algorithmversion_changelist"


def _action(client, action: str, *versions: AlgorithmVersion):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [v.pk for v in versions]},
        follow=True,
    )


def _option_post_data(option: AlgorithmOption, **changes) -> dict:
    data = {
        "setting": option.setting_id,
        "order": option.order,
        "option_key": option.option_key,
        "category": option.category,
        "rationale": option.rationale,
        "trials": json.dumps(option.trials),
        "requires": json.dumps(option.requires),
        "cautions": json.dumps(option.cautions),
        "placed_by": json.dumps(option.placed_by),
        "details": json.dumps(option.details),
    }
    data.update(changes)
    return data


def _svd_option(version: AlgorithmVersion) -> AlgorithmOption:
    return AlgorithmOption.objects.get(
        setting__version=version, setting__key="len_and_cd38_refractory", option_key="SVD"
    )


def test_version_list_shows_label_status_and_counts(curator_client, knowledge_base):
    response = curator_client.get(reverse(CHANGELIST))

    html = response.content.decode()
    assert response.status_code == 200
    assert "2026.1" in html
    assert 'class="field-setting_count"' in html
    assert "Copy to new draft" in html
    assert "Publish" in html


def test_published_version_is_read_only_and_shows_open_questions(curator_client, knowledge_base):
    version = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    url = reverse("admin:regimens_algorithmversion_change", args=[version.pk])

    page = curator_client.get(url)
    post = curator_client.post(url, {"label": "changed"})
    delete = curator_client.get(reverse("admin:regimens_algorithmversion_delete", args=[version.pk]))
    option = _svd_option(version)
    option_post = curator_client.post(
        reverse("admin:regimens_algorithmoption_change", args=[option.pk]),
        _option_post_data(option, category="consider"),
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html  # view only
    assert "OQ-05" in html and "KarMMa-3 control arm" in html
    assert post.status_code == 403
    assert delete.status_code == 403
    assert option_post.status_code == 403
    version.refresh_from_db()
    assert version.label == "2026.1"
    option.refresh_from_db()
    assert option.category == "preferred"


def test_published_version_rows_refuse_changes_in_the_model(knowledge_base):
    option = _svd_option(AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED))
    option.category = "future"

    with pytest.raises(PublishedVersionError):
        option.save()


def test_option_form_explains_unknown_regimen_category_trial_and_condition(curator_client, knowledge_base):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    _action(curator_client, "copy_to_new_draft", published)
    draft = AlgorithmVersion.objects.get(label="2026.1-draft-1")
    option = _svd_option(draft)
    url = reverse("admin:regimens_algorithmoption_change", args=[option.pk])

    response = curator_client.post(
        url,
        _option_post_data(
            option,
            option_key="NOT-A-REGIMEN",
            category="not_recommended",
            trials=json.dumps(["NO-SUCH-TRIAL"]),
            requires=json.dumps([{"input": "len_stat", "in": ["refractory"]}]),
            cautions=json.dumps(["MOD-NOPE"]),
        ),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "is neither a regimen nor an action in the knowledge base" in html
    assert "category must be one of preferred, alternative, consider, future" in html
    assert "Not a trial in the knowledge base: NO-SUCH-TRIAL" in html
    assert "is not a fact the engine knows" in html
    assert "Not a modifier of version 2026.1-draft-1: MOD-NOPE" in html


def test_curator_copies_edits_and_publishes_a_new_version(
    curator_client, curator, knowledge_base, task_worker
):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    before = services.recommend(DOUBLE_REFRACTORY)
    assert before["algorithm_version"] == "2026.1"
    assert next(o for o in before["options"] if o["key"] == "SVD")["category"] == "preferred"

    # copy
    copied = _action(curator_client, "copy_to_new_draft", published)
    assert "Copied 2026.1 to the new draft 2026.1-draft-1" in copied.content.decode()
    draft = AlgorithmVersion.objects.get(label="2026.1-draft-1")
    assert draft.status == AlgorithmStatus.DRAFT
    assert draft.copied_from == published

    # edit the option's category in the draft
    option = _svd_option(draft)
    edit = curator_client.post(
        reverse("admin:regimens_algorithmoption_change", args=[option.pk]),
        _option_post_data(option, category="consider"),
    )
    assert edit.status_code == 302, edit.content.decode()[:2000]
    # a draft is never used for recommendations
    assert services.recommend(DOUBLE_REFRACTORY)["algorithm_version"] == "2026.1"

    # publish: first the impact on the cases in care (none here), computed by the task worker, then confirm
    confirm = _action(curator_client, "publish_draft", draft)
    assert "Publish 2026.1-draft-1?" in confirm.content.decode()
    assert published.status == AlgorithmStatus.PUBLISHED
    task_worker()
    run = ImpactRun.objects.get(draft=draft)
    done = curator_client.post(
        reverse("admin:regimens_algorithmversion_publish", args=[draft.pk]),
        {"publish": "yes", "run": run.pk},
        follow=True,
    )
    assert "Published 2026.1-draft-1; the previous version is retired. 0 cases in care are flagged" in (
        done.content.decode()
    )

    published.refresh_from_db()
    draft.refresh_from_db()
    assert published.status == AlgorithmStatus.RETIRED
    assert draft.status == AlgorithmStatus.PUBLISHED
    assert draft.published_by == curator
    # the old version is still readable
    old_page = curator_client.get(reverse("admin:regimens_algorithmversion_change", args=[published.pk]))
    assert old_page.status_code == 200
    assert _svd_option(published).category == "preferred"
    # recommendations now use the new version (the rules cache is keyed by the KB revision)
    after = services.recommend(DOUBLE_REFRACTORY)
    assert after["algorithm_version"] == "2026.1-draft-1"
    assert next(o for o in after["options"] if o["key"] == "SVD")["category"] == "consider"
    # and so does the wizard
    wizard = curator_client.get("/algorithm/", {"step": "3", **DOUBLE_REFRACTORY}).content.decode()
    assert "Algorithm version <strong>2026.1-draft-1</strong>" in wizard


def test_publish_refuses_a_non_draft_with_an_admin_error(curator_client, knowledge_base):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)

    response = _action(curator_client, "publish_draft", published)

    assert "was not published: Only a draft can be published" in response.content.decode()


def test_publish_refuses_a_draft_naming_an_unknown_regimen(curator_client, knowledge_base):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    _action(curator_client, "copy_to_new_draft", published)
    draft = AlgorithmVersion.objects.get(label="2026.1-draft-1")
    # behind the form's back, as a bad import might
    AlgorithmOption.objects.filter(pk=_svd_option(draft).pk).update(option_key="GONE")

    response = _action(curator_client, "publish_draft", draft)

    assert "was not published" in response.content.decode()
    assert "GONE" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == AlgorithmStatus.DRAFT


def test_second_copy_gets_the_next_draft_label(curator_client, knowledge_base):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)

    _action(curator_client, "copy_to_new_draft", published)
    _action(curator_client, "copy_to_new_draft", published)

    assert set(AlgorithmVersion.objects.values_list("label", flat=True)) >= {
        "2026.1-draft-1",
        "2026.1-draft-2",
    }


def test_board_member_cannot_open_the_algorithm_admin(board_client, knowledge_base):
    assert board_client.get(reverse(CHANGELIST)).status_code == 302  # not staff: the admin login


# -- a new version of the shipped file (issue 10: 2026.1 after 2025.1) -------------------------


def _algorithm_file_labelled(tmp_path, label: str):
    """The shipped algorithm file under another meta.version, as an older release of it would be."""
    data = yaml.safe_load(ALGORITHM_FILE.read_text())
    data["meta"]["version"] = label
    path = tmp_path / "algorithm.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def _knowledge_base_files():
    return [p for p in sorted(EVIDENCE_DIR.glob("*.yaml")) if p.name != "algorithm.yaml"]


def test_a_newer_file_version_is_published_over_an_older_file_version_and_old_decisions_keep_their_snapshot(
    db, tmp_path, board_member
):
    call_command(
        "load_evidence", *_knowledge_base_files(), _algorithm_file_labelled(tmp_path, "2025.1"), verbosity=0
    )
    before = services.recommend(DOUBLE_REFRACTORY)
    case = make_case()
    decision = Decision.objects.create(
        case=case, option_key="SVD", option_label="SVd", category="preferred", rationale="as discussed",
        algorithm_version=before["algorithm_version"], snapshot={"recommendation": before}, recorded_by=board_member,
    )  # fmt: skip

    call_command("load_evidence", verbosity=0)  # what `make setup` runs: the shipped 2026.1

    versions = dict(AlgorithmVersion.objects.values_list("label", "status"))
    assert versions == {"2025.1": AlgorithmStatus.RETIRED, "2026.1": AlgorithmStatus.PUBLISHED}
    assert services.recommend(DOUBLE_REFRACTORY)["algorithm_version"] == "2026.1"
    assert "Refractoriness" in AlgorithmVersion.objects.get(label="2026.1").change_notes
    decision.refresh_from_db()
    assert decision.algorithm_version == "2025.1"
    assert decision.snapshot == {"recommendation": before}


def test_a_fresh_database_ends_with_the_shipped_version_published(db):
    call_command("load_evidence", verbosity=0)

    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    assert published.label == yaml.safe_load(ALGORITHM_FILE.read_text())["meta"]["version"] == "2026.1"


def test_a_file_load_never_replaces_a_version_curators_published(
    curator_client, curator, knowledge_base, tmp_path
):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    _action(curator_client, "copy_to_new_draft", published)
    publish(AlgorithmVersion.objects.get(label="2026.1-draft-1"), curator)

    call_command(
        "load_evidence", *_knowledge_base_files(), _algorithm_file_labelled(tmp_path, "2027.1"), verbosity=0
    )

    assert AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED).label == "2026.1-draft-1"
    assert AlgorithmVersion.objects.get(label="2027.1").status == AlgorithmStatus.DRAFT


def _modifier_post_data(modifier, **changes) -> dict:
    data = {
        "version": modifier.version_id,
        "key": modifier.key,
        "order": modifier.order,
        "applies_to": json.dumps(modifier.applies_to),
        "trigger": json.dumps(modifier.trigger),
        "effect": modifier.effect,
        "apply": json.dumps(modifier.apply),
        "evidence": json.dumps(modifier.evidence),
        "details": json.dumps(modifier.details),
    }
    data.update(changes)
    return data


def test_modifier_form_takes_options_by_drug_and_names_an_unknown_drug(curator_client, knowledge_base):
    published = AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED)
    _action(curator_client, "copy_to_new_draft", published)
    modifier = AlgorithmModifier.objects.get(version__label="2026.1-draft-1", key="MOD-CFZ-CV")
    url = reverse("admin:regimens_algorithmmodifier_change", args=[modifier.pk])

    good = curator_client.post(
        url, _modifier_post_data(modifier, applies_to=json.dumps({"drugs": ["CARFILZOMIB"]}))
    )
    bad = curator_client.post(url, _modifier_post_data(modifier, applies_to=json.dumps({"drugs": ["NOPE"]})))

    assert good.status_code == 302, good.content.decode()[:2000]
    assert "Neither a drug nor a drug class of any regimen: NOPE" in bad.content.decode()
