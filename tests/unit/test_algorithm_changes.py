"""Two algorithm versions compared, without a database: their rules in words, and one patient's options."""

import copy

from algorithm.diff import diff_rules
from algorithm.engine import CaseFacts, evaluate, rules_from_dict
from algorithm.impact import compare, describe_change

COMPONENTS = {"AAA": {"POMALIDOMIDE"}, "BBB": {"CARFILZOMIB"}, "CILTA-CEL": {"CILTACABTAGENE"}}
OLD = {
    "settings": [
        {
            "key": "s1",
            "label": "Len-refractory, anti-CD38 naive (at first relapse)",
            "when": {"always": True},
            "options": [
                {"regimen": "AAA", "category": "preferred", "rationale": "first"},
                {"regimen": "BBB", "category": "alternative"},
                {"regimen": "CILTA-CEL", "category": "consider"},
            ],
        }
    ],
    "modifiers": [],
}
LABELS = {"AAA": "Aaa-d", "BBB": "Bbb-d", "CILTA-CEL": "cilta-cel"}


def _new() -> dict:
    new = copy.deepcopy(OLD)
    options = new["settings"][0]["options"]
    del options[0]  # AAA no longer offered
    options[0]["category"] = "preferred"  # BBB
    new["modifiers"] = [
        {
            "key": "MOD-CART",
            "applies_to": ["CILTA-CEL"],
            "trigger": {"always": True},
            "effect": "Plan bridging therapy.",
            "apply": [{"action": "caution"}],
        }
    ]
    return new


def _compile(data):
    return rules_from_dict(data, COMPONENTS, version="v")


def test_compare_names_each_change_of_a_patients_options_by_its_kind():
    facts = CaseFacts.from_dict({})
    old, new = evaluate(facts, _compile(OLD)), evaluate(facts, _compile(_new()))

    chosen = compare(old, new, chosen="AAA")
    not_chosen = compare(old, new)

    assert chosen == [
        {"option": "AAA", "before": "preferred", "after": None, "kind": "chosen_withdrawn"},
        {"option": "BBB", "before": "alternative", "after": "preferred", "kind": "new_preferred"},
        {"option": "CILTA-CEL", "before": "consider", "after": "consider", "kind": "new_caution",
         "cautions_added": ["MOD-CART"]},
    ]  # fmt: skip
    assert not_chosen[0]["kind"] == "category"
    assert [describe_change({**c, "label": LABELS[c["option"]]}) for c in chosen] == [
        "Aaa-d: preferred → not listed",
        "Bbb-d: alternative → preferred",
        "cilta-cel: consider, new caution (MOD-CART)",
    ]


def test_compare_finds_no_change_between_the_same_rules():
    facts = CaseFacts.from_dict({})
    rules = _compile(OLD)

    assert compare(evaluate(facts, rules), evaluate(facts, rules), chosen="BBB") == []


def test_diff_says_each_change_in_clinical_words():
    new = _new()
    new["settings"][0]["options"][1]["category"] = "preferred"  # cilta-cel: consider -> preferred

    changes = diff_rules(OLD, new, _compile(OLD), _compile(new), LABELS)

    assert [c.text for c in changes] == [
        "Aaa-d: preferred → not listed in 'Len-refractory, anti-CD38 naive' (no longer offered there).",
        "Bbb-d: alternative → preferred in 'Len-refractory, anti-CD38 naive'.",
        "cilta-cel: consider → preferred in 'Len-refractory, anti-CD38 naive'.",
        "New modifier MOD-CART for cilta-cel: adds a caution in every case.",
    ]
    assert [(c.area, c.kind) for c in changes] == [
        ("option", "removed"),
        ("option", "category"),
        ("option", "category"),
        ("modifier", "added"),
    ]


def test_diff_reports_a_move_only_when_the_order_of_the_remaining_options_changes():
    moved = copy.deepcopy(OLD)
    options = moved["settings"][0]["options"]
    options[1], options[2] = options[2], options[1]
    removed_first = copy.deepcopy(OLD)
    del removed_first["settings"][0]["options"][0]

    swap = diff_rules(OLD, moved, _compile(OLD), _compile(moved), LABELS)
    removal = diff_rules(OLD, removed_first, _compile(OLD), _compile(removed_first), LABELS)

    assert [c.text for c in swap] == [
        "Bbb-d: moved from place 2 to place 3 in 'Len-refractory, anti-CD38 naive'.",
        "cilta-cel: moved from place 3 to place 2 in 'Len-refractory, anti-CD38 naive'.",
    ]
    assert [c.kind for c in removal] == ["removed"]


def test_the_comparison_imports_without_django():
    """Like the engine, the comparison runs without Django (and is tested without a database)."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, algorithm.comparison\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
