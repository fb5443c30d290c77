"""A curator publishes a new algorithm version after seeing what it changes for the cases in care; the board
then finds the changed cases flagged on their pages and on home.

The draft is a copy of the published algorithm with SVd taken out of the double-refractory setting and
DVd moved to "future" where lenalidomide is refractory and anti-CD38 still works.
"""

import copy
import io
import re

import pytest
import yaml
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect

from regimens.models import AlgorithmStatus, AlgorithmVersion, ImpactRun
from regimens.roles import BOARD_MEMBER, CURATOR
from tests.conftest import PASSWORD
from tests.integration.test_sign_in import totp_code

pytestmark = pytest.mark.django_db(transaction=True)


def _draft_file(tmp_path):
    published = AlgorithmVersion.objects.with_rules().get(status=AlgorithmStatus.PUBLISHED)
    data = copy.deepcopy(published.to_rules_dict())
    settings = {s["key"]: s for s in data["settings"]}
    double = settings["len_and_cd38_refractory"]
    double["options"] = [o for o in double["options"] if o["regimen"] != "SVD"]
    dvd = next(
        o for o in settings["len_refractory_cd38_naive_or_sensitive"]["options"] if o["regimen"] == "DVD"
    )
    dvd["category"] = "future"
    path = tmp_path / "algorithm-2026.2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_curator_publishes_after_seeing_the_impact_and_the_flags_appear(
    page, live_server, knowledge_base, django_user_model, console_errors, task_worker, tmp_path
):
    # The demo board's own nine cases (the outcomes history's synthetic patients are left out).
    call_command("load_demo", history=False, stdout=io.StringIO())
    call_command("load_algorithm", str(_draft_file(tmp_path)), as_draft="2026.2", stdout=io.StringIO())
    draft = AlgorithmVersion.objects.get(label="2026.2")
    # The chair of the board curates the algorithm too: she may see the cases the change touches.
    user = django_user_model.objects.create_user(username="chair", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=CURATOR), Group.objects.get(name=BOARD_MEMBER))
    secret = generate_totp_secret()  # staff sign in with a second factor
    TOTP.activate(user, secret)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("chair")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/accounts/2fa/authenticate/")
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/")

    # The draft in the admin: what it changes, rule by rule.
    page.goto(f"{live_server.url}/admin/regimens/algorithmversion/")
    page.get_by_role("link", name="against 2026.1").click()
    expect(page.get_by_role("heading", name="Algorithm 2026.1 → 2026.2")).to_be_visible()
    expect(page.get_by_text(re.compile(r"SVd: preferred → not listed in 'Double refractory"))).to_be_visible()

    # Publish…: the confirmation waits for the task worker, with a progress bar.
    page.goto(f"{live_server.url}/admin/regimens/algorithmversion/")
    page.locator(f'input[name="_selected_action"][value="{draft.pk}"]').check()
    page.get_by_role("combobox", name="Action").select_option(
        label="Publish… (shows the impact on the cases in care first)"
    )
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("heading", name="Publish 2026.2?")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Waiting for the task worker")
    expect(page.locator("progress")).to_be_visible()
    assert task_worker() == 1
    # The page polls, and reloads itself when the run is done: counts first, then the cases.
    expect(page.get_by_text(re.compile(r"\d+ of 7 cases in care change"))).to_be_visible(timeout=15000)
    changed = sorted(c["code"] for c in ImpactRun.objects.get(draft=draft).results)
    assert "MM-DEMO-003" in changed  # on the upcoming agenda; SVd was its preferred option
    expect(page.get_by_role("link", name="MM-DEMO-003")).to_be_visible()
    page.get_by_role("button", name="Yes, publish 2026.2").click()
    expect(page.get_by_text(f"{len(changed)} cases in care are flagged for review")).to_be_visible()

    # The board: each changed case carries the flag, and home lists them.
    page.goto(f"{live_server.url}/cases/MM-DEMO-003/")
    flag = page.get_by_role("note").filter(has_text="Review: algorithm 2026.2 changed this case's options")
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("SVd: preferred → not listed")
    page.goto(f"{live_server.url}/")
    review = page.get_by_role("region", name="To review after an algorithm change")
    for code in changed:
        expect(review.get_by_role("link", name=code)).to_be_visible()


def test_version_pages_and_flags_have_no_serious_accessibility_violation(
    logged_in_page, live_server, knowledge_base, curator, tmp_path
):
    from axe_playwright_python.sync_playwright import Axe

    from algorithm import impact

    # The demo board's own nine cases (the outcomes history's synthetic patients are left out).
    call_command("load_demo", history=False, stdout=io.StringIO())
    call_command("load_algorithm", str(_draft_file(tmp_path)), as_draft="2026.2", stdout=io.StringIO())
    draft = AlgorithmVersion.objects.get(label="2026.2")
    run = impact.execute(
        impact.create_run(draft, AlgorithmVersion.objects.get(status=AlgorithmStatus.PUBLISHED))
    )
    axe, found = Axe(), {}

    def check(path: str) -> None:
        logged_in_page.goto(f"{live_server.url}{path}")
        violations = axe.run(logged_in_page).response["violations"]
        serious = [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
        if serious:
            found[path] = serious

    check("/algorithm/versions/2026.1/diff/2026.2/")
    check("/algorithm/versions/2026.2/impact/")
    impact.publish_reviewed(run, curator)  # then the flags, on a case page and on home
    check("/cases/MM-DEMO-004/")
    check("/")
    assert found == {}
