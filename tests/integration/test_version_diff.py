"""The version diff page: what changes between two algorithm versions, in words, linked from the admin."""

import copy

import pytest
from django.urls import reverse

from algorithm.versions import load_draft
from regimens.models import AlgorithmStatus, AlgorithmVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(knowledge_base):
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    setting = next(s for s in data["settings"] if s["key"] == "len_refractory_cd38_naive_or_sensitive")
    cilta = next(o for o in setting["options"] if o["regimen"] == "CILTA-CEL")
    cilta["category"] = "preferred"
    cilta["rationale"] += " (test: now preferred)"
    return load_draft(data, "2026.2", "Test: cilta-cel preferred after the next review.")


def test_diff_page_says_what_changes_in_words_with_the_change_notes(
    board_client, draft, django_assert_num_queries
):
    url = reverse("algorithm_version_diff", args=["2026.1", "2026.2"])

    # session, user, permissions (2); two versions; their rules (4 each), regimen components and actions;
    # option labels (2); the impact: latest run (none yet, so no freshness check)
    with django_assert_num_queries(29):  # both versions compiled with the trial evidence (5 each)
        response = board_client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Algorithm 2026.1 → 2026.2" in page
    assert (
        "cilta-cel: consider → preferred in &#x27;Lenalidomide-refractory, anti-CD38 naive or still sensitive&#x27;"
        in page
    )
    assert "cilta-cel in &#x27;Lenalidomide-refractory" in page and "the rationale changed" in page
    assert "Test: cilta-cel preferred after the next review." in page
    assert reverse("algorithm_version_impact", args=["2026.2"]) in page


def test_diff_page_needs_the_algorithm_permission(outsider_client, draft):
    url = reverse("algorithm_version_diff", args=["2026.1", "2026.2"])

    assert outsider_client.get(url).status_code == 403


def test_diff_page_of_an_unknown_version_is_not_found(board_client, draft):
    url = reverse("algorithm_version_diff", args=["2026.1", "2099.9"])

    assert board_client.get(url).status_code == 404


def test_admin_links_each_version_to_its_changes(curator_client, draft):
    listing = curator_client.get(reverse("admin:regimens_algorithmversion_changelist")).content.decode()
    form = curator_client.get(
        reverse("admin:regimens_algorithmversion_change", args=[draft.pk])
    ).content.decode()

    diff = reverse("algorithm_version_diff", args=["2026.1", "2026.2"])
    assert f'<a href="{diff}">against 2026.1</a>' in listing
    assert diff in form
    assert reverse("admin:regimens_algorithmversion_publish", args=[draft.pk]) in form
