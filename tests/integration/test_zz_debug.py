import re
import pytest
from tests.integration.test_i18n import visible_text, _user_texts, ENGLISH_WORDS, IT, demo  # noqa
from cases.models import Case, Meeting

pytestmark = pytest.mark.django_db


def test_debug(board_client, demo):
    case = Case.objects.order_by("code").first()
    meeting = Meeting.objects.filter(decisions__isnull=False).distinct().first()
    item = meeting.agenda.first()
    pages = [
        "/algorithm/?step=3&len_status=refractory&anti_cd38_status=refractory&prior_lines=2",
        "/regimens/",
        "/trials/KARMMA-3/",
        "/compare/?regimens=ISA-KD,DKD,DPD",
        f"/cases/{case.code}/",
        f"/meetings/{meeting.pk}/cases/{item.pk}/",
        f"/meetings/{meeting.pk}/minutes/",
    ]
    typed = _user_texts()
    out = []
    for url in pages:
        text = visible_text(board_client.get(url, headers=IT).content.decode())
        for t in typed:
            text = text.replace(t, " ")
        text = re.sub(r"\s+", " ", text)
        seen = set()
        for m in re.finditer(r"\b(" + "|".join(ENGLISH_WORDS) + r")\b", text):
            ctx = text[max(0, m.start() - 70) : m.end() + 50]
            key = ctx[:40]
            if key in seen:
                continue
            seen.add(key)
            out.append(f"{url} :: {ctx}")
    open("/tmp/debug_words.txt", "w").write("\n".join(out))
