"""The vignettes through the database path (load_evidence -> published version -> services), so the
rules the board sees are those the pure tests check, on SQLite and on PostgreSQL alike."""

import pytest

from algorithm import services
from algorithm.engine import CaseFacts, evaluate
from tests.clinical.test_vignettes import ALL
from tests.unit.test_algorithm_engine import load_rules

pytestmark = pytest.mark.django_db


def test_every_vignette_gets_the_same_answer_from_the_published_version(knowledge_base):
    rules = load_rules()
    for _, vignette in ALL:
        from_files = evaluate(CaseFacts.from_dict(vignette["facts"]), rules).to_dict()

        from_database = services.recommend(vignette["facts"])

        assert from_database == {**from_files, "algorithm_version": "2026.1"}, vignette["id"]


def test_the_trial_evidence_compiled_from_the_database_is_the_files(knowledge_base):
    compiled = services.current_rules().evidence

    assert compiled == load_rules().evidence
    assert {(c.trial, c.better, c.worse) for c in compiled.comparisons} >= {
        ("CARTITUDE-4", "CILTA-CEL", "PVD"),
        ("CARTITUDE-4", "CILTA-CEL", "DPD"),
        ("DREAMM-7", "BVD", "DVD"),
        ("DREAMM-8", "BPD", "PVD"),
        ("KARMMA-3", "IDE-CEL", "KD"),
    }
