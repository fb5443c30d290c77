"""factory_boy factories for the knowledge base, with synthetic keys and numbers.

`build_knowledge_base(trials=30, regimens=20)` makes a realistic volume for the
query-count tests: every regimen with components, cautions, approvals and key
trials; every trial with arms, about ten results and sources. Nothing here is
clinical data: keys read TRIAL-07, REG-03, numbers are made up.
"""

from datetime import date

import factory
from factory.django import DjangoModelFactory

from cases.models import Case, TherapyLine
from regimens.models import (
    Agency,
    Approval,
    ApprovalStatus,
    Caution,
    Drug,
    DrugClass,
    Endpoint,
    Phase,
    Regimen,
    RegimenComponent,
    RegulatoryEvent,
    Result,
    Route,
    Source,
    Trial,
    TrialArm,
    Unit,
)


class SourceFactory(DjangoModelFactory):
    class Meta:
        model = Source

    key = factory.Sequence(lambda n: f"synthetic-source-{n:03d}")
    citation = factory.Sequence(lambda n: f"Synthetic A, et al. Journal of Test Data. 2024;{n}:1-10")
    doi = factory.Sequence(lambda n: f"10.5555/synthetic.{n:03d}")
    pmid = factory.Sequence(lambda n: f"{90000000 + n}")
    url = factory.Sequence(lambda n: f"https://example.org/synthetic/{n:03d}")


class DrugFactory(DjangoModelFactory):
    class Meta:
        model = Drug

    key = factory.Sequence(lambda n: f"DRUG-{n:02d}")
    name = factory.Sequence(lambda n: f"drugamab {n:02d}")
    drug_class = factory.Iterator(DrugClass.values)
    route = factory.Iterator([Route.IV, Route.SC, Route.ORAL, ""])


class CautionFactory(DjangoModelFactory):
    class Meta:
        model = Caution

    drug = factory.SubFactory(DrugFactory)
    key = factory.Sequence(lambda n: f"synthetic_caution_{n}")
    source = factory.SubFactory(SourceFactory)


class RegulatoryEventFactory(DjangoModelFactory):
    class Meta:
        model = RegulatoryEvent

    drug = factory.SubFactory(DrugFactory)
    agency = Agency.FDA
    year = 2022
    event = "Synthetic withdrawal of an indication"
    source = factory.SubFactory(SourceFactory)


class RegimenFactory(DjangoModelFactory):
    class Meta:
        model = Regimen

    key = factory.Sequence(lambda n: f"REG-{n:02d}")
    abbreviation = factory.Sequence(lambda n: f"Rd{n:02d}")
    name = factory.Sequence(lambda n: f"synthetic regimen {n:02d}")
    aliases = factory.LazyAttribute(lambda o: [f"{o.abbreviation}-alias"])
    schedule = "28-day cycles (synthetic)"
    schedule_source = factory.SubFactory(SourceFactory)


class RegimenComponentFactory(DjangoModelFactory):
    class Meta:
        model = RegimenComponent

    regimen = factory.SubFactory(RegimenFactory)
    drug = factory.SubFactory(DrugFactory)


class ApprovalFactory(DjangoModelFactory):
    class Meta:
        model = Approval

    regimen = factory.SubFactory(RegimenFactory)
    agency = Agency.EMA
    year = 2021
    indication = "adults with synthetic myeloma after at least one prior line"
    status = ApprovalStatus.APPROVED
    source = factory.SubFactory(SourceFactory)


class TrialFactory(DjangoModelFactory):
    class Meta:
        model = Trial

    key = factory.Sequence(lambda n: f"TRIAL-{n:02d}")
    name = factory.Sequence(lambda n: f"Trial-{n:02d}")
    nct = factory.Sequence(lambda n: f"NCT{90000000 + n}")
    phase = Phase.P3
    design = "randomised 1:1, open-label (synthetic)"
    population = "synthetic relapsed myeloma, 1-3 prior lines"
    prior_lines_min = 1
    prior_lines_max = 3
    len_refractory_pct = 30.5
    anti_cd38_refractory_pct = 10.0
    triple_class_refractory_pct = None
    notes = "Synthetic caveat: crossover allowed on progression."


class TrialArmFactory(DjangoModelFactory):
    class Meta:
        model = TrialArm

    trial = factory.SubFactory(TrialFactory)
    key = factory.Sequence(lambda n: f"arm-{n}")
    regimen = factory.SubFactory(RegimenFactory)
    label = factory.LazyAttribute(
        lambda o: f"{o.regimen.name} (synthetic arm)" if o.regimen else "Physician's choice"
    )
    n = 150


class ResultFactory(DjangoModelFactory):
    class Meta:
        model = Result

    arm = factory.SubFactory(TrialArmFactory)
    trial = factory.LazyAttribute(lambda o: o.arm.trial)
    endpoint = Endpoint.PFS_MEDIAN
    population = "ITT"
    value = 12.5
    ci_low = 10.1
    ci_high = 15.2
    unit = Unit.MONTHS
    analysis = "primary analysis (synthetic)"
    source = factory.SubFactory(SourceFactory)


def build_regimens(count: int) -> list[Regimen]:
    """Regimens of three drugs each (two with cautions, one with a regulatory event), three approvals."""
    regimens = []
    for i in range(count):
        regimen = RegimenFactory()
        for order in range(3):
            drug = DrugFactory()
            RegimenComponentFactory(regimen=regimen, drug=drug, order=order)
            if order < 2:
                CautionFactory(drug=drug, order=0, quote="a synthetic precaution, as the label words it")
                CautionFactory(drug=drug, order=1, source=None)
            if order == 0:
                RegulatoryEventFactory(drug=drug)
        ApprovalFactory(
            regimen=regimen, agency=Agency.EMA, year=2020 + i % 5, quote="approved for synthetic myeloma"
        )
        ApprovalFactory(
            regimen=regimen, agency=Agency.FDA, year=2019 + i % 5, status=ApprovalStatus.CONDITIONAL
        )
        ApprovalFactory(
            regimen=regimen, agency=Agency.AIFA, year=2021 + i % 5, status=ApprovalStatus.REIMBURSED
        )
        regimens.append(regimen)
    return regimens


def build_trials(count: int, regimens: list[Regimen], start: int = 0) -> list[Trial]:
    """Two-arm trials on the given regimens, ten results each (two populations), two sources each.

    The hazard ratios keep a quote, as a figure added after the first curation does.
    """
    trials = []
    for i in range(start, start + count):
        experimental, control = regimens[i % len(regimens)], regimens[(i + 1) % len(regimens)]
        trial = TrialFactory(phase=Phase.P3 if i % 3 else Phase.P2)
        sources = [SourceFactory(), SourceFactory()]
        trial.sources.set(sources)
        experimental.key_trials.add(trial)
        arm = TrialArmFactory(trial=trial, key="exp", regimen=experimental, order=0)
        comparator = TrialArmFactory(trial=trial, key="ctl", regimen=control, order=1, n=None)
        results = [
            # (arm, comparator, endpoint, unit, value, CI, p, source): 5 figures per population
            (arm, None, Endpoint.PFS_MEDIAN, Unit.MONTHS, 14.0, (6.0, 20.0), "", sources[0]),
            (comparator, None, Endpoint.PFS_MEDIAN, Unit.MONTHS, 7.0, (6.0, 20.0), "", sources[0]),
            (arm, comparator, Endpoint.PFS_HR, Unit.RATIO, 0.55, (0.4, 0.7), "<0.001", sources[0]),
            (arm, None, Endpoint.ORR, Unit.PERCENT, 70, (None, None), "", sources[1]),
            (comparator, None, Endpoint.ORR, Unit.PERCENT, 50, (None, None), "", sources[1]),
        ]
        for offset, population in enumerate(("ITT", "len_refractory")):
            for order, (this, vs, endpoint, unit, value, (low, high), p, source) in enumerate(results):
                ResultFactory(
                    trial=trial, arm=this, vs=vs, population=population, endpoint=endpoint, unit=unit,
                    value=value, ci_low=low, ci_high=high, p=p, source=source, order=offset * 10 + order,
                    quote="HR 0.55 (95% CI 0.4-0.7)" if endpoint == Endpoint.PFS_HR else "",
                )  # fmt: skip
        trials.append(trial)
    return trials


def build_knowledge_base(trials: int = 30, regimens: int = 20) -> tuple[list[Regimen], list[Trial]]:
    built_regimens = build_regimens(regimens)
    return built_regimens, build_trials(trials, built_regimens)


# Cases: plain ORM helpers (a case's lines are few and read better spelled out).

HTMX = {"HTTP_HX_REQUEST": "true"}  # test-client headers of an htmx request


def make_case(code="MM-T-001", **kw) -> Case:
    fields = {"age_at_diagnosis": 60, "sex": "M", "diagnosis": date(2021, 1, 1), **kw}
    return Case.objects.create(code=code, **fields)


def vrd_asct_r(case: Case) -> TherapyLine:
    return TherapyLine.objects.create(
        case=case, number=1, regimen_text="VRd", drug_keys=["BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"],
        start=date(2021, 2, 1), end=date(2025, 3, 1), asct=True, asct_date=date(2021, 7, 1),
        maintenance_drug_keys=["LENALIDOMIDE"], maintenance_start=date(2021, 10, 1), len_dose_at_progression_mg=10,
        best_response="VGPR", outcome="progression_on_therapy", progression=date(2025, 3, 1),
    )  # fmt: skip
