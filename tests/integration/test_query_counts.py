"""Query counts of every page the benchmark measures, pinned, at a small and a larger scale.

The data comes from the benchmark's own builders (bench/data.py) on top of the
shipped knowledge base: 3 cases, meetings and synthetic trials, then 30 cases
and meetings and 60 trials. A page whose queries grow with the data (an N+1)
fails here, in CI; the benchmark itself (`make bench`) times the pages and is
never part of the suite. Counts are of a page rendered afresh: kept fragments
(regimens/fragments.py) are dropped before each counted request.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench import data
from bench.run import pages
from regimens.fragments import forget_all
from regimens.models import Result, Trial

pytestmark = pytest.mark.django_db

# Every page: session, user, the user's and the groups' permissions (4), then its own.
PAGE_QUERIES = {
    "home": 12,  # 4 counts, next meeting, review flags, follow-ups, latest decisions
    "regimen_list": 10,  # revision, count, regimens of the page, components, approvals, key trials
    "regimen_detail": 12,  # + the arms of its trials (compare links)
    "trial_list": 9,  # revision, count, trials of the page, arms, the regimen filter's choices
    "trial_detail": 8,
    "compare_karmma3": 9,  # revision, regimens, trials, arms, results with sources
    "compare_cross_trial": 9,
    "wizard_history": 7,  # published version, revision, its document
    "wizard_patient": 7,
    # + the rules (version, settings, options, modifiers, regimen components, actions, and the trial
    # evidence compiled with them: trials, arms with allowed regimens (2), PFS hazard ratios, regimen
    # names), regimens, approvals, actions, trials, arms, results, sources
    "wizard_options": 26,
    "case_list": 6,  # count, cases of the page with their number of lines
    # Pages of patient data also write their access record (audit/): + 1.
    # case, lines, components, overrides, decisions with follow-up, its responses, review flags, drugs,
    # history (4), decision rows
    "case_detail": 17,
    "meeting_list": 6,  # upcoming, past 50 (counts as subqueries)
    "meeting_detail": 9,  # meeting, attendees, agenda with cases, decisions; the access record
    # the rules (6) with the trial evidence (5), the published document, the presenter (7); the record + its case code
    "meeting_case": 38,
    "minutes_pdf": 9,
    "api_recommendations": 17,  # version, revision, the rules (6) with the trial evidence (5)
    "outcomes": 8,  # the two revisions, decisions with case, meeting and follow-up, responses, trial medians
}


def _count(client, page) -> int:
    """Queries of one request that renders the page afresh (nothing kept), after checking what it shows."""
    response = page.request(client)
    assert response.status_code == 200, page.url
    assert page.expect.encode() in response.content, f"{page.name}: {page.expect!r} not on {page.url}"
    forget_all()
    with CaptureQueriesContext(connection) as queries:
        assert page.request(client).status_code == 200
    return len(queries)


def _grow() -> None:
    data.build_trials(57)
    cases = data.build_cases(27, start=3)
    data.build_meetings(27, cases)


def test_page_queries_are_pinned_and_do_not_grow_from_3_to_30_cases(board_client, knowledge_base):
    data.build(3, meetings=3, trials=3)
    measured = pages()  # the same cases and meeting at both scales
    small = {page.name: _count(board_client, page) for page in measured}

    _grow()
    large = {page.name: _count(board_client, page) for page in measured}

    assert small == PAGE_QUERIES
    assert large == PAGE_QUERIES


def test_trial_list_pages_keep_the_filters(board_client, knowledge_base):
    data.build_trials(60)  # 60 synthetic trials and the shipped ones: more than a page

    first = board_client.get(reverse("regimens:trial_list"), {"phase": "3"}).content.decode()
    second = board_client.get(reverse("regimens:trial_list"), {"phase": "3", "page": "2"}).content.decode()

    count = Trial.objects.filter(phase="3").count()
    assert f"{count} trials match the filters" in first
    assert "Page 1 of 2" in first
    assert 'href="?phase=3&amp;page=2"' in first
    assert "Page 2 of 2" in second
    assert 'href="?phase=3&amp;page=1"' in second


def test_kept_pages_show_a_curated_change_at_once(board_client, knowledge_base):
    data.build_trials(3)
    trial = Trial.objects.get(key="SYN-T-000")
    urls = [
        reverse("regimens:trial_list") + "?q=SYN-T",
        reverse("compare") + "?regimens=SYN-R-000,SYN-R-001",
    ]
    before = [board_client.get(url).content.decode() for url in urls]
    result = Result.objects.filter(trial=trial, endpoint="pfs_median", population="ITT").first()

    trial.name = "Renamed-000"
    trial.save()  # a curator's change bumps the knowledge-base revision
    result.value = 12.25
    result.save()
    after = [board_client.get(url).content.decode() for url in urls]

    assert all("Synthetic-000" in html for html in before)
    assert all("Renamed-000" in html and "Synthetic-000" not in html for html in after)
    assert "12.25" in after[1] and "12.25" not in before[1]
