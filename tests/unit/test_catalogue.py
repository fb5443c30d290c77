"""The Italian catalogue is complete: every string the code and templates mark is translated.

Two checks, each naming the msgids at fault: the catalogue holds no untranslated or fuzzy
entry (what `msgfmt --statistics` counts), and it holds every msgid the sources mark today
(extracted as `make messages` extracts them: templates through Django's templatize, then
xgettext with Django's keywords). After new strings land, `make messages` adds them to
locale/it/LC_MESSAGES/django.po; translate them there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import polib
from django.utils.translation import templatize

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "it" / "LC_MESSAGES" / "django.po"
# The folders `make messages` leaves out (Makefile: MESSAGES_IGNORE), and hidden ones.
IGNORED = {".venv", "bench", "tests", "staticfiles", "node_modules", "locale"}
KEYWORDS = [
    "--keyword=gettext_noop",
    "--keyword=gettext_lazy",
    "--keyword=ngettext_lazy:1,2",
    "--keyword=pgettext:1c,2",
    "--keyword=npgettext:1c,2,3",
    "--keyword=pgettext_lazy:1c,2",
    "--keyword=npgettext_lazy:1c,2,3",
]


def _key(entry: polib.POEntry) -> str:
    return f"[{entry.msgctxt}] {entry.msgid}" if entry.msgctxt else entry.msgid


def _sources() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(p in IGNORED or p.startswith(".") for p in parts[:-1]):
            continue
        if path.suffix in {".py", ".html", ".txt"} and path.is_file():
            found.append(path)
    return found


def _marked_msgids(work: Path) -> set[str]:
    """Every msgid the sources mark, as makemessages would collect it."""
    inputs = []
    for path in _sources():
        if path.suffix == ".py":
            inputs.append(str(path))
            continue
        target = work / (str(path.relative_to(ROOT)).replace("/", "__") + ".py")
        target.write_text(templatize(path.read_text(encoding="utf-8"), origin=str(path)), encoding="utf-8")
        inputs.append(str(target))
    files = work / "files.txt"
    files.write_text("\n".join(inputs), encoding="utf-8")
    result = subprocess.run(
        [
            "xgettext",
            "--language=Python",
            "--from-code=UTF-8",
            *KEYWORDS,
            "--output=-",
            f"--files-from={files}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {_key(e) for e in polib.pofile(result.stdout) if e.msgid}


def test_italian_catalogue_has_no_untranslated_or_fuzzy_entry() -> None:
    catalogue = polib.pofile(str(CATALOGUE))

    untranslated = [_key(e) for e in catalogue.untranslated_entries() if not e.obsolete]
    fuzzy = [_key(e) for e in catalogue.fuzzy_entries() if not e.obsolete]

    assert not untranslated, f"{len(untranslated)} msgids have no Italian translation:\n" + "\n".join(
        untranslated
    )
    assert not fuzzy, f"{len(fuzzy)} msgids are fuzzy (check, then drop the flag):\n" + "\n".join(fuzzy)
    assert catalogue.percent_translated() == 100


def test_italian_catalogue_holds_every_msgid_the_sources_mark(tmp_path: Path) -> None:
    # Needs GNU gettext (xgettext), as `make messages` does; `make test` installs it (bin/ensure-gettext).
    in_catalogue = {_key(e) for e in polib.pofile(str(CATALOGUE)) if not e.obsolete}

    missing = sorted(_marked_msgids(tmp_path) - in_catalogue)

    assert not missing, (
        f"{len(missing)} marked strings are not in {CATALOGUE.relative_to(ROOT)}: run `make messages`, "
        "then translate them:\n" + "\n".join(missing)
    )
