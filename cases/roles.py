"""Permissions of the three roles on the cases models (see regimens.roles)."""

from regimens.roles import BOARD_MEMBER, CASE_EDITOR, CURATOR

CASE_MODELS = ["case", "therapyline", "factoverride"]
MEETING_MODELS = ["meeting", "attendee", "agendaitem"]
ALL = ("view", "add", "change", "delete")

ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    # Board members read everything and record decisions.
    BOARD_MEMBER: [
        *[("cases", m, ("view",)) for m in CASE_MODELS + MEETING_MODELS],
        ("cases", "decision", ("view", "add", "change")),
    ],
    # Case editors prepare cases and meetings; they read decisions.
    CASE_EDITOR: [
        *[("cases", m, ALL) for m in CASE_MODELS + MEETING_MODELS],
        ("cases", "decision", ("view",)),
    ],
    # Curators own the knowledge base; patient cases are not theirs.
    CURATOR: [],
}

# Added with the follow-up of decisions (migration 0005): case editors record what followed a
# decision; board members read it (and /outcomes/).
FOLLOW_UP_MODELS = ["outcome", "responseassessment"]
FOLLOW_UP_ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    BOARD_MEMBER: [("cases", m, ("view",)) for m in FOLLOW_UP_MODELS],
    CASE_EDITOR: [("cases", m, ALL) for m in FOLLOW_UP_MODELS],
    CURATOR: [],
}


# Added with the review flags (migration 0008): the board dismisses a flag an algorithm
# change raised on a case (with a reason); case editors see them.
REVIEW_FLAG_ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    BOARD_MEMBER: [("cases", "reviewflag", ("view", "change"))],
    CASE_EDITOR: [("cases", "reviewflag", ("view",))],
    CURATOR: [],
}
