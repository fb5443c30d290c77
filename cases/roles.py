"""Permissions of the three roles on the cases models (see regimens.roles)."""

from regimens.roles import BOARD_MEMBER, CASE_EDITOR, CURATOR

CASE_MODELS = ["case", "therapyline", "factoverride"]
MEETING_MODELS = ["meeting", "attendee", "agendaitem"]
FOLLOW_UP_MODELS = ["outcome", "responseassessment"]
ALL = ("view", "add", "change", "delete")

ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    # Board members read everything and record decisions.
    BOARD_MEMBER: [
        *[("cases", m, ("view",)) for m in CASE_MODELS + MEETING_MODELS + FOLLOW_UP_MODELS],
        ("cases", "decision", ("view", "add", "change")),
    ],
    # Case editors prepare cases and meetings, read decisions and record what followed them.
    CASE_EDITOR: [
        *[("cases", m, ALL) for m in CASE_MODELS + MEETING_MODELS + FOLLOW_UP_MODELS],
        ("cases", "decision", ("view",)),
    ],
    # Curators own the knowledge base; patient cases are not theirs.
    CURATOR: [],
}
