"""Fixtures shared by the cases and meetings tests."""

import pytest

from algorithm import services as algorithm_services
from regimens.models import DrugClass
from tests.integration.factories import DrugFactory, RegimenComponentFactory, RegimenFactory


def fake_recommend(facts):
    options = []
    if facts.get("len_status") == "refractory":
        options = [
            {
                "key": "DPD",
                "kind": "regimen",
                "category": "preferred",
                "rank": 1,
                "rationale": "synthetic rationale",
                "trials": ["TRIAL-X"],
                "cautions": [],
                "needs": [],
            }
        ]
    return {"algorithm_version": "fake-1", "settings": [{"key": "fake", "label": "Fake setting"}],
            "options": options, "not_recommended": [{"key": "DRD", "reason": "lenalidomide-refractory"}]}  # fmt: skip


@pytest.fixture
def algorithm(monkeypatch):
    """A stand-in for the published algorithm's answer (where the real rules are not needed)."""
    monkeypatch.setattr(algorithm_services, "recommend", fake_recommend)


@pytest.fixture
def drugs():
    return {
        key: DrugFactory(key=key, name=key.lower(), drug_class=cls)
        for key, cls in [
            ("LENALIDOMIDE", DrugClass.IMID),
            ("POMALIDOMIDE", DrugClass.IMID),
            ("BORTEZOMIB", DrugClass.PROTEASOME_INHIBITOR),
            ("DARATUMUMAB", DrugClass.ANTI_CD38),
            ("DEXAMETHASONE", DrugClass.CORTICOSTEROID),
        ]
    }


@pytest.fixture
def drd(drugs):
    regimen = RegimenFactory(key="DRD", abbreviation="DRd")
    for order, key in enumerate(["DARATUMUMAB", "LENALIDOMIDE", "DEXAMETHASONE"]):
        RegimenComponentFactory(regimen=regimen, drug=drugs[key], order=order)
    return regimen
