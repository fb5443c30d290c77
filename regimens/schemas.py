"""Response schemas of the JSON API: every figure carries the source it was read from."""

from datetime import date

from ninja import Schema

from regimens.models import Regimen, Result, Trial, TrialArm


class SourceOut(Schema):
    key: str
    citation: str
    doi: str
    pmid: str
    url: str
    link: str  # the page read, else the DOI resolver


class DrugOut(Schema):
    key: str
    name: str
    drug_class: str
    route: str


class ApprovalOut(Schema):
    agency: str
    year: int | None
    date: date | None
    status: str
    indication: str
    source: SourceOut
    quote: str  # the verbatim phrase of the source (at most 30 words); "" for first-curation facts


class RegimenOut(Schema):
    key: str
    abbreviation: str
    name: str
    aliases: list[str]
    drugs: list[DrugOut]
    approvals: list[ApprovalOut]
    key_trials: list[str]
    page: str

    @staticmethod
    def resolve_drugs(obj: Regimen) -> list:
        return [component.drug for component in obj.components.all()]

    @staticmethod
    def resolve_approvals(obj: Regimen) -> list:
        return list(obj.approvals.all())

    @staticmethod
    def resolve_key_trials(obj: Regimen) -> list[str]:
        return sorted(trial.key for trial in obj.key_trials.all())

    @staticmethod
    def resolve_page(obj: Regimen) -> str:
        return obj.get_absolute_url()


class ArmOut(Schema):
    key: str
    label: str
    regimen: str | None  # regimen key; null for an investigator's-choice arm
    n: int | None

    @staticmethod
    def resolve_regimen(obj: TrialArm) -> str | None:
        return obj.regimen.key if obj.regimen else None


class ResultOut(Schema):
    endpoint: str
    population: str
    arm: str  # arm key
    vs: str | None  # comparator arm key, for hazard ratios
    value: float | None
    not_reached: bool
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    unit: str
    p: str
    analysis: str
    value_label: str
    ci_label: str
    source: SourceOut
    quote: str  # the verbatim phrase of the source (at most 30 words); "" for first-curation facts

    @staticmethod
    def resolve_arm(obj: Result) -> str:
        return obj.arm.key

    @staticmethod
    def resolve_vs(obj: Result) -> str | None:
        return obj.vs.key if obj.vs else None


class TrialSummaryOut(Schema):
    key: str
    name: str
    nct: str
    phase: str
    prior_lines_min: int | None
    prior_lines_max: int | None
    len_refractory_pct: float | None
    anti_cd38_refractory_pct: float | None
    triple_class_refractory_pct: float | None
    arms: list[ArmOut]
    page: str

    @staticmethod
    def resolve_arms(obj: Trial) -> list:
        return list(obj.arms.all())

    @staticmethod
    def resolve_page(obj: Trial) -> str:
        return obj.get_absolute_url()


class TrialOut(TrialSummaryOut):
    design: str
    population: str
    notes: str
    results: list[ResultOut]
    sources: list[SourceOut]

    @staticmethod
    def resolve_results(obj: Trial) -> list:
        return list(obj.results.all())

    @staticmethod
    def resolve_sources(obj: Trial) -> list:
        return list(obj.sources.all())
