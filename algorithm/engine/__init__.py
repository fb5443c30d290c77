"""The relapse algorithm as a pure Python engine (no Django import; a unit test enforces it).

CaseFacts (facts.py) -> evaluate(facts, rules) (engine.py) -> Recommendation, where
Rules (rules.py) are built from the algorithm's plain-data structure.
"""

from .engine import Recommendation, evaluate
from .evidence import (
    PfsComparison,
    TrialEvidence,
    TrialInfo,
    comparisons_from_rows,
    trial_evidence_from_documents,
)
from .facts import CaseFacts, FactsError
from .rules import Rules, RulesError, rules_from_dict

__all__ = [
    "CaseFacts",
    "FactsError",
    "PfsComparison",
    "Recommendation",
    "Rules",
    "RulesError",
    "TrialEvidence",
    "TrialInfo",
    "comparisons_from_rows",
    "evaluate",
    "rules_from_dict",
    "trial_evidence_from_documents",
]
