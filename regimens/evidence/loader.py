"""Load the knowledge-base YAML files into the database.

Three steps, so that bad data never leaves a half-loaded knowledge base:

1. read every file (YAML errors name the line);
2. validate every record and every reference between records, across all
   files, into plain dataclasses (errors name file, line, record and field);
3. write, inside one `transaction.atomic()`: upsert on natural keys, and
   delete the children (arms, results, components, approvals, cautions,
   regulatory events) of loaded records that the files no longer list; the
   knowledge-base revision goes up once for the run, not once per row.

A source given only as a URL (approvals, drug sources, schedule sources,
actions, regulatory history) becomes a `Source` with the stable key
`url_source_key(url)`.
"""

import datetime
import hashlib
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import DatabaseError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from yaml.constructor import ConstructorError

from algorithm.versions import load_algorithm
from regimens.evidence import EVIDENCE_DIR, EvidenceError
from regimens.models import (
    QUOTE_MAX_WORDS,
    Action,
    Agency,
    Approval,
    ApprovalStatus,
    Caution,
    Drug,
    DrugClass,
    Endpoint,
    KnowledgeBaseRevision,
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
    quote_word_count,
)

# Documents that another part of the project loads, keyed by a top-level key that
# marks them: `loader(path, document, report) -> None`. load_evidence hands each such
# document whole to its loader, inside the same transaction and after the knowledge
# base is written (so it can resolve regimen and trial keys); the loader validates
# before it writes and raises EvidenceError on bad data.
OTHER_LOADERS: dict[str, Callable[[Path, dict, "Report"], None]] = {"settings": load_algorithm}

KNOWLEDGE_BASE_KEYS = frozenset(
    {"drugs", "regimens", "actions", "trials", "additions", "unmapped_seed_aliases"}
)

# The unit each endpoint is reported in (README: endpoint list).
ENDPOINT_UNITS: dict[str, str] = {
    Endpoint.PFS_MEDIAN: Unit.MONTHS,
    Endpoint.OS_MEDIAN: Unit.MONTHS,
    Endpoint.DOR_MEDIAN: Unit.MONTHS,
    Endpoint.PFS_HR: Unit.RATIO,
    Endpoint.OS_HR: Unit.RATIO,
    Endpoint.ORR: Unit.PERCENT,
    Endpoint.CR_OR_BETTER: Unit.PERCENT,
    Endpoint.VGPR_OR_BETTER: Unit.PERCENT,
    Endpoint.MRD_NEG: Unit.PERCENT,
    Endpoint.PFS_RATE: Unit.PERCENT,
}
HAZARD_RATIOS = frozenset({Endpoint.PFS_HR, Endpoint.OS_HR})
CI95_LEVEL = 0.95

# The fields that identify a row across loads, in the order the summary lists the models.
NATURAL_KEYS: dict[type[models.Model], tuple[str, ...]] = {
    Source: ("key",),
    Drug: ("key",),
    Caution: ("drug_id", "key"),
    RegulatoryEvent: ("drug_id", "agency", "year", "event"),
    Regimen: ("key",),
    RegimenComponent: ("regimen_id", "drug_id"),
    Approval: ("regimen_id", "agency", "year", "indication"),
    Action: ("key",),
    Trial: ("key",),
    TrialArm: ("trial_id", "key"),
    Result: ("trial_id", "endpoint", "population", "arm_id", "vs_id", "analysis"),
}


MODELS = tuple(NATURAL_KEYS)


def url_source_key(url: str) -> str:
    """The stable `Source.key` of a source that the files give only as a URL."""
    return "url-" + hashlib.sha1(url.encode()).hexdigest()[:12]


def default_paths() -> list[Path]:
    return _yaml_files_in(EVIDENCE_DIR)


# --------------------------------------------------------------------------- report


CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class Report:
    """What a load did (or, for --check, would do), per model."""

    def __init__(self) -> None:
        self._status: dict[str, dict[Hashable, str]] = {model.__name__: {} for model in MODELS}
        self._deleted: dict[str, int] = {}
        self.files: list[Path] = []

    def record(self, model: str, key: Hashable, status: str) -> None:
        statuses = self._status.setdefault(model, {})
        # A row first seen unchanged can still change later (e.g. its M2M set).
        if statuses.get(key) in (None, UNCHANGED):
            statuses[key] = status

    def deleted(self, model: str, count: int) -> None:
        self._deleted[model] = self._deleted.get(model, 0) + count

    def counts(self, model: str) -> dict[str, int]:
        statuses = list(self._status.get(model, {}).values())
        return {
            CREATED: statuses.count(CREATED),
            UPDATED: statuses.count(UPDATED),
            "deleted": self._deleted.get(model, 0),
            UNCHANGED: statuses.count(UNCHANGED),
        }

    @property
    def changes(self) -> int:
        return sum(c[CREATED] + c[UPDATED] + c["deleted"] for c in map(self.counts, self.models))

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys([*self._status, *self._deleted]))

    def lines(self) -> list[str]:
        return [
            "{}: {created} created, {updated} updated, {deleted} deleted, {unchanged} unchanged".format(
                model, **self.counts(model)
            )
            for model in self.models
        ]


# --------------------------------------------------------------------------- reading


class _LineLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML loading that remembers where each mapping starts and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}

    def construct_mapping_with_line(self, node: yaml.MappingNode) -> Iterable[dict]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        data: dict = {}
        self.lines[id(data)] = node.start_mark.line + 1
        yield data
        data.update(self.construct_mapping(node))


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping_with_line)


@dataclass
class Document:
    path: Path
    data: dict
    lines: dict[int, int]  # id(mapping) -> line, valid while `data` lives

    @property
    def name(self) -> str:
        return self.path.name

    def where(self, mapping: object, label: str) -> "Where":
        return Where(self.name, self.lines.get(id(mapping)), label)


def read_document(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EvidenceError(f"{path}: cannot read: {error.strerror}") from error
    loader = _LineLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise EvidenceError(f"{path.name}{line}: invalid YAML: {problem}") from error
    finally:
        loader.dispose()
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EvidenceError(
            f"{path.name}:1: expected a mapping of top-level keys, found {type(data).__name__}"
        )
    return Document(path, data, loader.lines)


def _yaml_files_in(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for its YAML files (as the default does)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += _yaml_files_in(path)
        elif path.exists():
            files.append(path)
        else:
            raise EvidenceError(f"{path}: no such file or directory")
    return files


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Where:
    """Where a record sits, for an error message: file, line and a label such as `KARMMA-3 result 3`."""

    file: str
    line: int | None
    label: str

    @property
    def at(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def error(self, message: str) -> EvidenceError:
        return EvidenceError(f"{self.at}: {self.label}: {message}")


def _max_length(model: type[models.Model], name: str) -> int | None:
    return model._meta.get_field(name).max_length


class Fields:
    """One mapping of a file, read field by field; every error says where."""

    def __init__(self, data: object, where: Where, allowed: Iterable[str]) -> None:
        if not isinstance(data, dict):
            raise where.error(f"expected a mapping, found {data!r}")
        allowed = list(allowed)
        unknown = [name for name in data if name not in allowed]
        if unknown:
            raise where.error(f"unknown field {unknown[0]!r} (fields: {', '.join(allowed)})")
        self.data, self.where = data, where

    def error(self, message: str) -> EvidenceError:
        return self.where.error(message)

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise self.error(f"{name} is missing")
        return value

    def text(self, name: str, *, required: bool = False, max_length: int | None = None) -> str:
        """Text; null or absent is ''. Whole numbers are read as text (an unquoted PMID)."""
        value = self._get(name, required)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(f"{name} must be text, found {value!r}")
        value = str(value)
        if required and not value.strip():
            raise self.error(f"{name} is empty")
        if max_length is not None and len(value) > max_length:
            raise self.error(f"{name} is longer than {max_length} characters")
        return value

    def key(self, name: str = "key", *, max_length: int | None = None) -> str:
        value = self.text(name, required=True, max_length=max_length)
        if value != value.strip():
            raise self.error(f"{name} {value!r} has surrounding spaces")
        return value

    def choice(self, name: str, choices: Sequence[str], *, required: bool = True) -> str:
        value = self.text(name, required=required)
        if value and value not in choices:
            raise self.error(f"unknown {name} {value!r} (one of: {', '.join(choices)})")
        return value

    def number(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(f"{name} must be a number, found {value!r}")
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int = 0) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{name} must be a whole number, found {value!r}")
        if value < minimum:
            raise self.error(f"{name} {value} is below {minimum}")
        return value

    def percent(self, name: str) -> float | None:
        value = self.number(name)
        if value is not None and not 0 <= value <= 100:
            raise self.error(f"{name} {value} is {'over 100' if value > 100 else 'negative'}")
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(f"{name} must be true or false, found {value!r}")
        return value

    def items(self, name: str) -> list:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"{name} must be a list, found {value!r}")
        return value

    def texts(self, name: str) -> list[str]:
        values = self.items(name)
        for value in values:
            if not isinstance(value, str) or not value.strip():
                raise self.error(f"{name} must be a list of text, found {value!r}")
        return values

    def quote(self, name: str = "quote", *, source: str = "source") -> str:
        """The verbatim phrase a fact was read from: at most QUOTE_MAX_WORDS words, and only with a source."""
        value = self.text(name).strip()
        if not value:
            return ""
        words = quote_word_count(value)
        if words > QUOTE_MAX_WORDS:
            raise self.error(
                f"{name} has {words} words (at most {QUOTE_MAX_WORDS}): keep the verbatim words that state the fact"
            )
        if not self.data.get(source):
            raise self.error(f"{name} needs the {source} it was read from")
        return value

    def url(self, name: str, *, required: bool = False) -> str:
        return _check_url(self, name, self.text(name, required=required))

    def urls(self, name: str) -> list[str]:
        return [_check_url(self, name, value) for value in self.texts(name)]

    def date(self, name: str) -> datetime.date | None:
        value = self.data.get(name)
        if isinstance(value, datetime.datetime):
            return value.date()
        if value is None or isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            raise self.error(f"{name} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _check_url(fields: Fields, name: str, value: str) -> str:
    if value and not value.startswith(("https://", "http://")):
        raise fields.error(f"{name} must be a URL (http:// or https://), found {value!r}")
    if len(value) > _max_length(Source, "url"):
        raise fields.error(f"{name} is longer than {_max_length(Source, 'url')} characters")
    return value


def _peek(data: object, name: str) -> str:
    """A record's key for its label, before the record is validated."""
    value = data.get(name) if isinstance(data, dict) else None
    return str(value) if value is not None else ""


# --------------------------------------------------------------------------- records


@dataclass
class SourceRecord:
    key: str
    citation: str
    doi: str
    pmid: str
    url: str
    where: Where

    @property
    def content(self) -> tuple[str, str, str, str]:
        return (self.citation, self.doi, self.pmid, self.url)

    @classmethod
    def for_url(cls, url: str, where: Where) -> "SourceRecord":
        return cls(url_source_key(url), "", "", "", url, where)


@dataclass
class CautionRecord:
    key: str
    description: str
    source_url: str
    quote: str = ""


@dataclass
class RegulatoryEventRecord:
    agency: str
    year: int
    event: str
    source_url: str


@dataclass
class DrugRecord:
    key: str
    name: str
    drug_class: str
    route: str
    notes: str
    cautions: list[CautionRecord]
    source_urls: list[str]
    regulatory_events: list[RegulatoryEventRecord]
    where: Where


@dataclass
class ApprovalRecord:
    agency: str
    year: int | None
    date: datetime.date | None
    indication: str
    status: str
    source_url: str
    quote: str

    @property
    def natural_key(self) -> tuple[str, int | None, str]:
        return (self.agency, self.year, self.indication)


@dataclass
class RegimenRecord:
    key: str
    abbreviation: str
    name: str
    aliases: list[str]
    drug_keys: list[str]
    schedule: str
    schedule_source_url: str
    key_trial_keys: list[str]
    approvals: list[ApprovalRecord]
    notes: str
    where: Where


@dataclass
class ActionRecord:
    key: str
    label: str
    description: str
    source_url: str
    other_source_urls: list[str]
    notes: str
    where: Where


@dataclass
class ArmRecord:
    key: str
    regimen_key: str | None
    label: str
    n: int | None
    where: Where
    allowed_regimen_keys: list[str] = field(default_factory=list)  # an investigator's-choice arm


@dataclass
class ResultRecord:
    endpoint: str
    population: str
    arm_key: str
    vs_key: str | None
    value: float | None
    not_reached: bool
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    unit: str
    p: str
    analysis: str
    source_key: str
    quote: str
    where: Where

    @property
    def natural_key(self) -> tuple:
        return (self.endpoint, self.population, self.arm_key, self.vs_key, self.analysis)


@dataclass
class TrialRecord:
    key: str
    name: str
    nct: str
    phase: str
    design: str
    population: str
    prior_lines_min: int | None
    prior_lines_max: int | None
    len_refractory_pct: float | None
    anti_cd38_refractory_pct: float | None
    triple_class_refractory_pct: float | None
    notes: str
    arms: list[ArmRecord]
    results: list[ResultRecord]
    source_keys: list[str]  # in file order, without repeats
    where: Where


@dataclass
class KnowledgeBase:
    """Every record of the files, validated, keyed by natural key."""

    sources: dict[str, SourceRecord] = field(default_factory=dict)
    drugs: dict[str, DrugRecord] = field(default_factory=dict)
    regimens: dict[str, RegimenRecord] = field(default_factory=dict)
    actions: dict[str, ActionRecord] = field(default_factory=dict)
    trials: dict[str, TrialRecord] = field(default_factory=dict)

    def add_source(self, record: SourceRecord) -> str:
        """Register a source; the same key twice is fine only with the same content."""
        known = self.sources.get(record.key)
        if known is None:
            self.sources[record.key] = record
        elif known.content != record.content:
            names = ("citation", "doi", "pmid", "url")
            differs = next(n for n, a, b in zip(names, known.content, record.content, strict=True) if a != b)
            raise record.where.error(
                f"source {record.key} is defined differently at {known.where.at} ({known.where.label}): "
                f"{differs} differs"
            )
        return record.key


def _add_unique(registry: dict, key: str, record: Any, kind: str) -> None:
    if key in registry:
        raise record.where.error(f"{kind} key defined twice (also at {registry[key].where.at})")
    registry[key] = record


# --------------------------------------------------------------------------- parsing


def _parse_source(doc: Document, data: object, owner: str) -> SourceRecord:
    if isinstance(data, str):  # a source known only by its URL, as the exporter writes it
        where = Where(doc.name, None, f"{owner} source {data}")
        fields = Fields({"url": data}, where, ["url"])
        return SourceRecord.for_url(fields.url("url", required=True), where)
    where = doc.where(data, f"{owner} source {_peek(data, 'key')}")
    fields = Fields(data, where, ["key", "citation", "doi", "pmid", "url"])
    record = SourceRecord(
        key=fields.key(max_length=_max_length(Source, "key")),
        citation=fields.text("citation"),
        doi=fields.text("doi", max_length=_max_length(Source, "doi")),
        pmid=fields.text("pmid", max_length=_max_length(Source, "pmid")),
        url=fields.url("url"),
        where=where,
    )
    if not (record.url or record.doi):
        raise where.error("a source needs a url or a doi")
    return record


def _parse_drug(doc: Document, data: object) -> DrugRecord:
    where = doc.where(data, f"drug {_peek(data, 'key')}")
    fields = Fields(
        data,
        where,
        ["key", "name", "drug_class", "route", "cautions", "sources", "regulatory_history", "notes"],
    )
    record = DrugRecord(
        key=fields.key(max_length=_max_length(Drug, "key")),
        name=fields.text("name", required=True, max_length=_max_length(Drug, "name")),
        drug_class=fields.choice("drug_class", DrugClass.values),
        route=fields.choice("route", Route.values, required=False),
        notes=fields.text("notes"),
        cautions=[_parse_caution(doc, item, where) for item in fields.items("cautions")],
        source_urls=list(dict.fromkeys(fields.urls("sources"))),
        regulatory_events=[
            _parse_regulatory_event(doc, item, where, i)
            for i, item in enumerate(fields.items("regulatory_history"), 1)
        ],
        where=where,
    )
    _check_unique(where, "caution", [c.key for c in record.cautions])
    return record


def _parse_caution(doc: Document, data: object, drug: Where) -> CautionRecord:
    if isinstance(data, str):
        data = {"key": data}
        where = drug
    else:
        where = doc.where(data, f"{drug.label} caution {_peek(data, 'key')}")
    fields = Fields(data, where, ["key", "description", "source", "quote"])
    return CautionRecord(
        key=fields.key(max_length=_max_length(Caution, "key")),
        description=fields.text("description", max_length=_max_length(Caution, "description")),
        source_url=fields.url("source"),
        quote=fields.quote(),
    )


def _parse_regulatory_event(doc: Document, data: object, drug: Where, index: int) -> RegulatoryEventRecord:
    where = doc.where(data, f"{drug.label} regulatory_history {index}")
    fields = Fields(data, where, ["agency", "year", "event", "source"])
    return RegulatoryEventRecord(
        agency=fields.choice("agency", Agency.values),
        year=fields.integer("year", required=True, minimum=1900),
        event=fields.text("event", required=True),
        source_url=fields.url("source", required=True),
    )


def _parse_regimen(doc: Document, data: object) -> RegimenRecord:
    where = doc.where(data, f"regimen {_peek(data, 'key')}")
    fields = Fields(
        data,
        where,
        [
            "key",
            "abbreviation",
            "aliases",
            "name",
            "drugs",
            "schedule",
            "schedule_source",
            "key_trials",
            "approvals",
            "notes",
        ],
    )
    record = RegimenRecord(
        key=fields.key(max_length=_max_length(Regimen, "key")),
        abbreviation=fields.text(
            "abbreviation", required=True, max_length=_max_length(Regimen, "abbreviation")
        ),
        name=fields.text("name", required=True, max_length=_max_length(Regimen, "name")),
        aliases=fields.texts("aliases"),
        drug_keys=fields.texts("drugs"),
        schedule=fields.text("schedule"),
        schedule_source_url=fields.url("schedule_source"),
        key_trial_keys=fields.texts("key_trials"),
        approvals=[
            _parse_approval(doc, item, where, i) for i, item in enumerate(fields.items("approvals"), 1)
        ],
        notes=fields.text("notes"),
        where=where,
    )
    if not record.drug_keys:
        raise where.error("drugs is empty")
    _check_unique(where, "drug", record.drug_keys)
    _check_unique(where, "key trial", record.key_trial_keys)
    _check_unique(where, "approval", [a.natural_key for a in record.approvals])
    return record


def _parse_approval(doc: Document, data: object, regimen: Where, index: int) -> ApprovalRecord:
    where = doc.where(
        data,
        f"{regimen.label} approval {index} ({_peek(data, 'agency')} {_peek(data, 'year')})".replace(
            " )", ")"
        ),
    )
    fields = Fields(data, where, ["agency", "year", "date", "indication", "status", "source", "quote"])
    year = fields.integer("year", minimum=1990)  # null when no source gives it
    if year is not None and year > 2100:
        raise where.error(f"year {year} is after 2100")
    return ApprovalRecord(
        agency=fields.choice("agency", Agency.values),
        year=year,
        date=fields.date("date"),
        indication=fields.text("indication", required=True),
        status=fields.choice("status", ApprovalStatus.values, required=False) or ApprovalStatus.APPROVED,
        source_url=fields.url("source", required=True),
        quote=fields.quote(),
    )


def _parse_action(doc: Document, data: object) -> ActionRecord:
    where = doc.where(data, f"action {_peek(data, 'key')}")
    fields = Fields(data, where, ["key", "label", "description", "source", "other_sources", "notes"])
    return ActionRecord(
        key=fields.key(max_length=_max_length(Action, "key")),
        label=fields.text("label", required=True, max_length=_max_length(Action, "label")),
        description=fields.text("description"),
        source_url=fields.url("source", required=True),
        other_source_urls=list(dict.fromkeys(fields.urls("other_sources"))),
        notes=fields.text("notes"),
        where=where,
    )


TRIAL_FIELDS = [
    "key",
    "name",
    "nct",
    "phase",
    "design",
    "population",
    "prior_lines",
    "len_refractory_pct",
    "anti_cd38_refractory_pct",
    "triple_class_refractory_pct",
    "arms",
    "results",
    "sources",
    "notes",
]


def _parse_trial(doc: Document, data: object, kb: KnowledgeBase) -> TrialRecord:
    where = doc.where(data, f"trial {_peek(data, 'key')}")
    fields = Fields(data, where, TRIAL_FIELDS)
    key = fields.key(max_length=_max_length(Trial, "key"))
    where = Where(where.file, where.line, key)
    fields.where = where
    low, high = _prior_lines(doc, fields)
    arms = [_parse_arm(doc, item, key, i) for i, item in enumerate(fields.items("arms"), 1)]
    _check_unique(where, "arm", [arm.key for arm in arms])
    record = TrialRecord(
        key=key,
        name=fields.text("name", required=True, max_length=_max_length(Trial, "name")),
        nct=fields.text("nct", max_length=_max_length(Trial, "nct")),
        phase=fields.choice("phase", Phase.values),
        design=fields.text("design"),
        population=fields.text("population"),
        prior_lines_min=low,
        prior_lines_max=high,
        len_refractory_pct=fields.percent("len_refractory_pct"),
        anti_cd38_refractory_pct=fields.percent("anti_cd38_refractory_pct"),
        triple_class_refractory_pct=fields.percent("triple_class_refractory_pct"),
        notes=fields.text("notes"),
        arms=arms,
        results=[],
        source_keys=[],
        where=where,
    )
    _add_results_and_sources(doc, record, fields.items("results"), fields.items("sources"), kb, "result")
    return record


def _prior_lines(doc: Document, trial: Fields) -> tuple[int | None, int | None]:
    data = trial.data.get("prior_lines")
    if data is None:
        return None, None
    fields = Fields(
        data, Where(trial.where.file, trial.where.line, f"{trial.where.label} prior_lines"), ["min", "max"]
    )
    low, high = fields.integer("min"), fields.integer("max")
    if low is not None and high is not None and low > high:
        raise trial.error(f"prior_lines min {low} is above max {high}")
    return low, high


def _parse_arm(doc: Document, data: object, trial: str, index: int) -> ArmRecord:
    where = doc.where(data, f"{trial} arm {index} ({_peek(data, 'key')})")
    fields = Fields(data, where, ["key", "regimen", "label", "n", "allowed_regimens"])
    allowed = fields.texts("allowed_regimens")
    if len(set(allowed)) != len(allowed):
        raise where.error("allowed_regimens lists a regimen twice")
    return ArmRecord(
        key=fields.key(max_length=_max_length(TrialArm, "key")),
        regimen_key=fields.text("regimen") or None,
        label=fields.text("label", required=True, max_length=_max_length(TrialArm, "label")),
        n=fields.integer("n"),
        where=where,
        allowed_regimen_keys=allowed,
    )


def _add_results_and_sources(
    doc: Document, trial: TrialRecord, results: list, sources: list, kb: KnowledgeBase, label: str
) -> None:
    """Append results and sources to a trial (its own, or those of an `additions` entry)."""
    for data in sources:
        key = kb.add_source(_parse_source(doc, data, trial.key))
        if key not in trial.source_keys:
            trial.source_keys.append(key)
    for data in results:
        index = len(trial.results) + 1
        trial.results.append(_parse_result(doc, data, trial, f"{label} {index}"))


RESULT_FIELDS = [
    "endpoint",
    "population",
    "arm",
    "vs",
    "value",
    "not_reached",
    "ci95",
    "ci_other",
    "unit",
    "p",
    "analysis",
    "source",
    "quote",
]


def _parse_result(doc: Document, data: object, trial: TrialRecord, label: str) -> ResultRecord:
    where = doc.where(data, f"{trial.key} {label} ({_peek(data, 'endpoint')} {_peek(data, 'arm')})")
    fields = Fields(data, where, RESULT_FIELDS)
    endpoint = fields.choice("endpoint", Endpoint.values)
    value = fields.number("value")
    not_reached = fields.flag("not_reached")
    if value is None and not not_reached:
        raise where.error("value is missing (write not_reached: true for a median not reached)")
    if value is not None and not_reached:
        raise where.error("not_reached is true but a value is given")
    if value is not None and value < 0:
        raise where.error(f"value {value} is negative")
    unit = _result_unit(fields, endpoint)
    if unit == Unit.PERCENT and value is not None and value > 100:
        raise where.error(f"value {value} is over 100 (unit percent)")
    ci_low, ci_high, ci_level = _confidence_interval(fields, value, unit)
    vs = fields.text("vs") or None
    if (endpoint in HAZARD_RATIOS) != (vs is not None):
        raise where.error("vs (the comparator arm) is required for a hazard ratio and only for one")
    p = fields.data.get("p")
    if p is not None and not isinstance(p, str):
        raise where.error(f'p must be quoted text such as "<0.001", found {p!r}')
    return ResultRecord(
        endpoint=endpoint,
        population=fields.text("population", required=True, max_length=_max_length(Result, "population")),
        arm_key=fields.text("arm", required=True),
        vs_key=vs,
        value=value,
        not_reached=not_reached,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_level=ci_level,
        unit=unit,
        p=fields.text("p", max_length=_max_length(Result, "p")),
        analysis=fields.text("analysis"),
        source_key=fields.text("source", required=True),
        quote=fields.quote(),
        where=where,
    )


def _result_unit(fields: Fields, endpoint: str) -> str:
    """The endpoint's unit; a unit written in the file must agree with it."""
    expected = ENDPOINT_UNITS[endpoint]
    unit = fields.text("unit")
    if unit and unit != expected:
        shown = expected or "none (a ratio)"
        raise fields.error(f"unit {unit!r} does not fit endpoint {endpoint} (expected {shown})")
    return expected


def _confidence_interval(
    fields: Fields, value: float | None, unit: str
) -> tuple[float | None, float | None, float]:
    """ci95 [low, high] (high may be null: not estimable) or ci_other {level, bounds}."""
    ci95, other = fields.data.get("ci95"), fields.data.get("ci_other")
    if ci95 is not None and other is not None:
        raise fields.error("give either ci95 or ci_other, not both")
    if other is None:
        name, bounds, level = "ci95", ci95, CI95_LEVEL
    else:
        level_fields = Fields(other, fields.where, ["level", "bounds"])
        level = level_fields.number("level")
        if level is None or not 0 < level < 1:
            raise fields.error(f"ci_other level must be a number between 0 and 1, found {level!r}")
        if level == CI95_LEVEL:
            raise fields.error("ci_other has level 0.95: write it as ci95")
        name, bounds = "ci_other bounds", other.get("bounds")
        if bounds is None:
            raise fields.error("ci_other bounds is missing")
    if bounds is None:
        return None, None, level
    if not isinstance(bounds, list) or len(bounds) != 2 or all(b is None for b in bounds):
        raise fields.error(f"{name} must be [low, high], found {bounds!r}")
    if any(isinstance(b, bool) or not isinstance(b, int | float | None) for b in bounds):
        raise fields.error(f"{name} must hold numbers, found {bounds!r}")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise fields.error(f"{name} {bounds!r} has its low bound above its high bound")
    if value is not None and ((low is not None and low > value) or (high is not None and high < value)):
        raise fields.error(f"{name} {bounds!r} excludes the value {value}")
    if unit == Unit.PERCENT and any(b is not None and not 0 <= b <= 100 for b in bounds):
        raise fields.error(f"{name} {bounds!r} is outside 0-100 (unit percent)")
    return low, high, level


def _check_unique(where: Where, kind: str, keys: list) -> None:
    seen: set = set()
    for key in keys:
        if key in seen:
            shown = " / ".join(str(k) for k in key) if isinstance(key, tuple) else key
            raise where.error(f"{kind} {shown} is listed twice")
        seen.add(key)


def _apply_addition(doc: Document, data: object, kb: KnowledgeBase) -> None:
    """SCHEMA.md `additions`: further results, sources and notes for a trial defined elsewhere."""
    where = doc.where(data, f"addition to {_peek(data, 'trial')}")
    fields = Fields(data, where, ["trial", "results", "sources", "notes"])
    trial = kb.trials.get(fields.text("trial", required=True))
    if trial is None:
        raise where.error(f"unknown trial {fields.data['trial']!r}")
    _add_results_and_sources(
        doc, trial, fields.items("results"), fields.items("sources"), kb, "addition result"
    )
    trial.notes = "\n\n".join(filter(None, [trial.notes, fields.text("notes")]))


def parse(documents: Sequence[Document]) -> KnowledgeBase:
    """Validate every record of the knowledge-base documents, then every reference between them."""
    kb = KnowledgeBase()
    for doc in documents:
        unknown = sorted(set(doc.data) - KNOWLEDGE_BASE_KEYS)
        if unknown:
            raise EvidenceError(
                f"{doc.name}: unknown top-level key {unknown[0]!r} (keys: {', '.join(sorted(KNOWLEDGE_BASE_KEYS))})"
            )
        for data in _section(doc, "drugs"):
            record = _parse_drug(doc, data)
            _add_unique(kb.drugs, record.key, record, "drug")
        for data in _section(doc, "regimens"):
            record = _parse_regimen(doc, data)
            _add_unique(kb.regimens, record.key, record, "regimen")
        for data in _section(doc, "actions"):
            record = _parse_action(doc, data)
            _add_unique(kb.actions, record.key, record, "action")
        for data in _section(doc, "trials"):
            record = _parse_trial(doc, data, kb)
            _add_unique(kb.trials, record.key, record, "trial")
    # Additions name trials of any file, so they wait until every trial is read.
    for doc in documents:
        for data in _section(doc, "additions"):
            _apply_addition(doc, data, kb)
    _register_url_sources(kb)
    _check_references(kb)
    return kb


def _register_url_sources(kb: KnowledgeBase) -> None:
    """Sources that the files give only as a URL become sources of their own."""
    places: list[tuple[Where, list[str]]] = []
    for drug in kb.drugs.values():
        urls = [*drug.source_urls, *(c.source_url for c in drug.cautions)]
        places.append((drug.where, urls + [e.source_url for e in drug.regulatory_events]))
    for regimen in kb.regimens.values():
        places.append(
            (regimen.where, [regimen.schedule_source_url, *(a.source_url for a in regimen.approvals)])
        )
    for action in kb.actions.values():
        places.append((action.where, [action.source_url, *action.other_source_urls]))
    for where, urls in places:
        for url in filter(None, urls):
            kb.add_source(SourceRecord.for_url(url, where))


def _section(doc: Document, name: str) -> list:
    items = doc.data.get(name) or []
    if not isinstance(items, list):
        raise EvidenceError(f"{doc.name}: {name} must be a list")
    return items


def _check_references(kb: KnowledgeBase) -> None:
    """Every key a record names exists, in the files or already in the database."""
    drugs = set(kb.drugs) | set(Drug.objects.values_list("key", flat=True))
    regimens = set(kb.regimens) | set(Regimen.objects.values_list("key", flat=True))
    trials = set(kb.trials) | set(Trial.objects.values_list("key", flat=True))
    for regimen in kb.regimens.values():
        for key in regimen.drug_keys:
            if key not in drugs:
                raise regimen.where.error(f"unknown drug {key!r}")
        for key in regimen.key_trial_keys:
            if key not in trials:
                raise regimen.where.error(f"unknown key trial {key!r}")
    for action in kb.actions.values():
        if action.key in regimens:
            raise action.where.error("the key is also a regimen key (algorithm options name either)")
    for trial in kb.trials.values():
        arms = [arm.key for arm in trial.arms]
        for arm in trial.arms:
            if arm.regimen_key is not None and arm.regimen_key not in regimens:
                raise arm.where.error(f"unknown regimen {arm.regimen_key!r}")
            for key in arm.allowed_regimen_keys:
                if key not in regimens:
                    raise arm.where.error(f"allowed_regimens: unknown regimen {key!r}")
        for result in trial.results:
            for name, key in (("arm", result.arm_key), ("vs", result.vs_key)):
                if key is not None and key not in arms:
                    raise result.where.error(
                        f"unknown {name} {key!r} (arms of {trial.key}: {', '.join(arms)})"
                    )
            if result.vs_key == result.arm_key:
                raise result.where.error("vs names the same arm as arm")
            if result.source_key not in trial.source_keys:
                raise result.where.error(
                    f"unknown source {result.source_key!r} (not in the sources of {trial.key})"
                )
        _check_results_unique(trial)


def _check_results_unique(trial: TrialRecord) -> None:
    """(endpoint, population, arm, vs, analysis) identifies a result across loads."""
    first: dict[tuple, int] = {}
    for index, result in enumerate(trial.results, 1):
        earlier = first.setdefault(result.natural_key, index)
        if earlier != index:
            raise result.where.error(
                f"same endpoint, population, arm, vs and analysis as result {earlier}; "
                "tell the two apart in `analysis`"
            )


# --------------------------------------------------------------------------- writing

Values = dict[str, Any]  # field attnames (FKs as `drug_id`) -> values


class _Writer:
    """Upserts validated records on natural keys and prunes children the files no longer list."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.sources: dict[str, Source] = {}

    def write(self, kb: KnowledgeBase) -> None:
        self.sources = self._by_key(Source, Source.objects.all(), map(_source_values, kb.sources.values()))
        drugs = self._drugs(kb.drugs)
        regimens = self._regimens(kb.regimens, drugs)
        self._actions(kb.actions)
        trials = self._trials(kb.trials, regimens)
        for record in kb.regimens.values():  # key trials wait for the trials
            self._sync_m2m(
                regimens[record.key], "key_trials", {trials[key].pk for key in record.key_trial_keys}
            )

    # -- generic steps

    def _sync(
        self,
        model: type[models.Model],
        existing: models.QuerySet,
        rows: Iterable[Values],
        *,
        prune: bool = False,
    ) -> dict[tuple, models.Model]:
        """Upsert rows on the model's natural key, against the `existing` rows read in one query.

        With `prune`, `existing` holds the children of the loaded parents, and those
        that no row matches are deleted. Returns existing and saved rows by natural key.
        """
        fields = NATURAL_KEYS[model]
        current: dict[tuple, models.Model] = {}
        for obj in existing:
            current.setdefault(tuple(getattr(obj, name) for name in fields), obj)
        saved = {}
        for values in rows:
            key = tuple(values[name] for name in fields)
            try:
                obj, status = self._upsert(model, current.get(key), values)
            except DatabaseError as error:
                raise EvidenceError(
                    f"cannot save {_describe(model, values)}: {error}".replace("\n", " ")
                ) from error
            self.report.record(model.__name__, obj.pk, status)
            saved[key] = obj
        if prune:
            self._delete(existing.exclude(pk__in=[obj.pk for obj in saved.values()]))
        return {**current, **saved}

    def _by_key(self, model: type[models.Model], existing: models.QuerySet, rows: Iterable[Values]) -> dict:
        """`_sync` for a top-level model: every row, in the files or not, by its `key`."""
        return {obj.key: obj for obj in self._sync(model, existing, rows).values()}

    def _upsert(self, model: type[models.Model], current: models.Model | None, values: Values):
        """Create, or update only the fields that differ (so a second load writes nothing)."""
        if current is None:
            obj = model(**values)
            obj.save()
            return obj, CREATED
        changed = [name for name, value in values.items() if getattr(current, name) != value]
        if not changed:
            return current, UNCHANGED
        for name in changed:
            setattr(current, name, values[name])
        current.save(update_fields=changed)
        return current, UPDATED

    def _delete(self, queryset: models.QuerySet) -> None:
        _, per_model = queryset.delete()
        for label, count in per_model.items():  # cascades included (an arm takes its results)
            name = label.rpartition(".")[2]
            if name in self.report.models:
                self.report.deleted(name, count)

    def _sync_m2m(self, obj: models.Model, name: str, wanted: set[int]) -> None:
        manager = getattr(obj, name)
        if {related.pk for related in manager.all()} != wanted:
            manager.set(wanted)
            self.report.record(type(obj).__name__, obj.pk, UPDATED)

    def _url_source(self, url: str) -> int | None:
        return self.sources[url_source_key(url)].pk if url else None

    def _url_sources(self, urls: Iterable[str]) -> set[int]:
        return {self.sources[url_source_key(url)].pk for url in urls}

    # -- models

    def _drugs(self, records: dict[str, DrugRecord]) -> dict[str, Drug]:
        drugs = self._by_key(
            Drug, Drug.objects.prefetch_related("sources"), map(_drug_values, records.values())
        )
        for record in records.values():
            self._sync_m2m(drugs[record.key], "sources", self._url_sources(record.source_urls))
        loaded = [drugs[key].pk for key in records]
        cautions = [
            {
                "drug_id": drugs[record.key].pk,
                "key": caution.key,
                "description": caution.description,
                "source_id": self._url_source(caution.source_url),
                "quote": caution.quote,
                "order": order,
            }
            for record in records.values()
            for order, caution in enumerate(record.cautions)
        ]
        self._sync(Caution, Caution.objects.filter(drug__in=loaded), cautions, prune=True)
        events = [
            {
                "drug_id": drugs[record.key].pk,
                "agency": event.agency,
                "year": event.year,
                "event": event.event,
                "source_id": self._url_source(event.source_url),
                "order": order,
            }
            for record in records.values()
            for order, event in enumerate(record.regulatory_events)
        ]
        self._sync(RegulatoryEvent, RegulatoryEvent.objects.filter(drug__in=loaded), events, prune=True)
        return drugs

    def _regimens(self, records: dict[str, RegimenRecord], drugs: dict[str, Drug]) -> dict[str, Regimen]:
        rows = [
            {
                "key": r.key,
                "abbreviation": r.abbreviation,
                "name": r.name,
                "aliases": r.aliases,
                "schedule": r.schedule,
                "schedule_source_id": self._url_source(r.schedule_source_url),
                "notes": r.notes,
            }
            for r in records.values()
        ]
        regimens = self._by_key(Regimen, Regimen.objects.prefetch_related("key_trials"), rows)
        loaded = [regimens[key].pk for key in records]
        components = [
            {"regimen_id": regimens[record.key].pk, "drug_id": drugs[drug].pk, "order": order}
            for record in records.values()
            for order, drug in enumerate(record.drug_keys)
        ]
        self._sync(
            RegimenComponent, RegimenComponent.objects.filter(regimen__in=loaded), components, prune=True
        )
        approvals = [
            {
                "regimen_id": regimens[record.key].pk,
                "agency": a.agency,
                "year": a.year,
                "date": a.date,
                "indication": a.indication,
                "status": a.status,
                "source_id": self._url_source(a.source_url),
                "quote": a.quote,
            }
            for record in records.values()
            for a in record.approvals
        ]
        self._sync(Approval, Approval.objects.filter(regimen__in=loaded), approvals, prune=True)
        return regimens

    def _actions(self, records: dict[str, ActionRecord]) -> None:
        rows = [
            {
                "key": r.key,
                "label": r.label,
                "description": r.description,
                "source_id": self._url_source(r.source_url),
                "notes": r.notes,
            }
            for r in records.values()
        ]
        actions = self._by_key(Action, Action.objects.prefetch_related("other_sources"), rows)
        for record in records.values():
            self._sync_m2m(actions[record.key], "other_sources", self._url_sources(record.other_source_urls))

    def _trials(self, records: dict[str, TrialRecord], regimens: dict[str, Regimen]) -> dict[str, Trial]:
        trials = self._by_key(
            Trial, Trial.objects.prefetch_related("sources"), map(_trial_values, records.values())
        )
        for record in records.values():
            self._sync_m2m(
                trials[record.key], "sources", {self.sources[key].pk for key in record.source_keys}
            )
        loaded = [trials[key].pk for key in records]
        arm_rows = [
            {
                "trial_id": trials[record.key].pk,
                "key": arm.key,
                "regimen_id": regimens[arm.regimen_key].pk if arm.regimen_key else None,
                "label": arm.label,
                "n": arm.n,
                "order": order,
            }
            for record in records.values()
            for order, arm in enumerate(record.arms)
        ]
        arms = self._sync(
            TrialArm,
            TrialArm.objects.filter(trial__in=loaded).prefetch_related("allowed_regimens"),
            arm_rows,
            prune=True,
        )
        for record in records.values():
            for arm in record.arms:
                self._sync_m2m(
                    arms[(trials[record.key].pk, arm.key)],
                    "allowed_regimens",
                    {regimens[key].pk for key in arm.allowed_regimen_keys},
                )

        def arm_id(trial: Trial, key: str | None) -> int | None:
            return arms[(trial.pk, key)].pk if key is not None else None

        results = [
            {
                "trial_id": trials[record.key].pk,
                "endpoint": r.endpoint,
                "population": r.population,
                "arm_id": arm_id(trials[record.key], r.arm_key),
                "vs_id": arm_id(trials[record.key], r.vs_key),
                "value": r.value,
                "not_reached": r.not_reached,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "ci_level": r.ci_level,
                "unit": r.unit,
                "p": r.p,
                "analysis": r.analysis,
                "source_id": self.sources[r.source_key].pk,
                "quote": r.quote,
                "order": order,
            }
            for record in records.values()
            for order, r in enumerate(record.results)
        ]
        self._sync(Result, Result.objects.filter(trial__in=loaded), results, prune=True)
        return trials


def _describe(model: type[models.Model], values: Values) -> str:
    """A row for an error message: its model and natural key (ids left out, long text cut)."""
    shown = [
        f"{name}={values[name][:60] if isinstance(values[name], str) else values[name]!r}"
        for name in NATURAL_KEYS[model]
        if not name.endswith("_id")
    ]
    return f"{model.__name__} ({', '.join(shown)})"


def _source_values(r: SourceRecord) -> Values:
    return {"key": r.key, "citation": r.citation, "doi": r.doi, "pmid": r.pmid, "url": r.url}


def _drug_values(r: DrugRecord) -> Values:
    return {"key": r.key, "name": r.name, "drug_class": r.drug_class, "route": r.route, "notes": r.notes}


def _trial_values(r: TrialRecord) -> Values:
    return {
        "key": r.key,
        "name": r.name,
        "nct": r.nct,
        "phase": r.phase,
        "design": r.design,
        "population": r.population,
        "prior_lines_min": r.prior_lines_min,
        "prior_lines_max": r.prior_lines_max,
        "len_refractory_pct": r.len_refractory_pct,
        "anti_cd38_refractory_pct": r.anti_cd38_refractory_pct,
        "triple_class_refractory_pct": r.triple_class_refractory_pct,
        "notes": r.notes,
    }


# --------------------------------------------------------------------------- entry point


def _other_loader(doc: Document) -> Callable[[Path, dict, Report], None] | None:
    for marker, loader in OTHER_LOADERS.items():
        if marker in doc.data:
            return loader
    return None


def load_evidence(paths: Sequence[Path] | None = None, *, dry_run: bool = False) -> Report:
    """Load the files (default: the project's), all or nothing. `dry_run` validates and rolls back.

    Raises EvidenceError, with a one-line message, on bad data; the database is then unchanged.
    """
    files = expand_paths(paths) if paths else default_paths()
    documents = [read_document(path) for path in files]
    others = [(loader, doc) for doc in documents if (loader := _other_loader(doc))]
    knowledge_base_documents = [doc for doc in documents if not _other_loader(doc)]
    report = Report()
    report.files = files
    try:
        with transaction.atomic():
            # One revision bump for the whole run (if it wrote anything), inside the transaction.
            with KnowledgeBaseRevision.one_bump():
                # Validate everything before the first write (references may name rows already loaded).
                kb = parse(knowledge_base_documents)
                _Writer(report).write(kb)
                for loader, doc in others:
                    loader(doc.path, doc.data, report)
            if dry_run:
                transaction.set_rollback(True)
    except (ProtectedError, RestrictedError) as error:
        blocking = ", ".join(sorted({str(obj) for obj in error.args[1]})[:3])
        raise EvidenceError(
            f"cannot delete a row that the files no longer list: still used by {blocking}"
        ) from error
    except DatabaseError as error:
        raise EvidenceError(f"the database refused the data: {error}".replace("\n", " ")) from error
    return report
