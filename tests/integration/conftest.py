"""Fixtures shared by the cases and meetings tests."""

from types import SimpleNamespace

import pytest

from cases import services
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
    """A stand-in for regimens.services (used only where the real one is not needed)."""
    fake = SimpleNamespace(recommend=fake_recommend, wizard_url=lambda facts: "/algorithm/?fake=1")
    monkeypatch.setattr(services, "_algorithm", lambda: fake)
    return fake


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
