"""POST /api/v1/recommendations: the relapse algorithm over HTTP.

The body is a JSON object of case facts whose keys are the `inputs` of
regimens/evidence/algorithm.yaml (the same JSON as `manage.py recommend`); the
answer is the recommendation JSON: `options`, `not_recommended`, `settings`,
`algorithm_version` and more. Bad input is a 400 with field errors
`{"errors": [{"field": ..., "message": ...}]}`, never a 500.

Authentication is the project API's (regimens/api.py). Being
a session-authenticated POST, it needs the CSRF token: send the `csrftoken`
cookie's value in an `X-CSRFToken` header (ninja's `django_auth` checks it).

The body is parsed here, not by a ninja Schema, so that every mistake is
reported in the engine's words (one validator: `CaseFacts.from_dict`); the
OpenAPI document still describes it precisely (`openapi_extra`).

Mounted on the project API in mmboard/urls.py.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import AuthorizationError

from algorithm import services
from algorithm.engine import FactsError
from algorithm.engine.facts import EXPOSURE_CLASSES, FIELD_SPECS, NOT_KNOWN

router = Router(tags=["algorithm"])


class FieldError(Schema):
    field: str
    message: str


class ErrorsOut(Schema):
    errors: list[FieldError]


class DetailOut(Schema):
    detail: str


class RecommendationOut(Schema):
    """The engine's Recommendation (algorithm/engine/engine.py), as JSON."""

    algorithm_version: str
    facts: dict[str, Any]
    settings: list[dict[str, Any]]
    possible_settings: list[dict[str, Any]]
    options: list[dict[str, Any]]
    not_recommended: list[dict[str, Any]]
    not_applicable: list[dict[str, Any]]
    no_match_message: str | None
    category_rule: str = ""
    dominance_rule: str = ""
    not_placed: list[dict[str, Any]] = []


def _fact_schema(name: str) -> dict[str, Any]:
    spec = FIELD_SPECS[name]
    schema: dict[str, Any]
    if spec.kind == "choice":
        schema = {"enum": [*spec.choices, NOT_KNOWN, None]}
    elif spec.kind == "bool":
        schema = {"anyOf": [{"type": "boolean"}, {"type": "null"}, {"enum": [NOT_KNOWN]}]}
    elif spec.kind in ("int", "number"):
        kind = "integer" if spec.kind == "int" else "number"
        schema = {
            "anyOf": [
                {"type": kind, "minimum": spec.minimum, "maximum": spec.maximum},
                {"type": "null"},
                {"enum": [NOT_KNOWN]},
            ]
        }
    else:
        schema = {
            "anyOf": [
                {"type": "array", "items": {"enum": list(EXPOSURE_CLASSES)}, "uniqueItems": True},
                {"type": "null"},
            ]
        }
    derived = " Derived from the drug statuses when not given." if spec.derived else ""
    return {**schema, "description": f"{spec.title}; {spec.allowed()}.{derived}"}


FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "CaseFacts",
    "description": 'Facts about one case; every key optional; null or "unknown" = not known.',
    "properties": {name: _fact_schema(name) for name in FIELD_SPECS},
    "additionalProperties": False,
    "example": {
        "len_status": "refractory",
        "anti_cd38_status": "refractory",
        "anti_cd38_agent_last": "daratumumab",
        "prior_lines": 2,
    },
}


def _errors(field: str, message: str) -> Status:
    return Status(400, {"errors": [{"field": field, "message": message}]})


@router.post(
    "",
    response={200: RecommendationOut, 400: ErrorsOut, 503: DetailOut},
    summary="Options for a case",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": FACTS_SCHEMA}}},
    },
)
def recommend(request: HttpRequest):
    """The options of the published algorithm version for these facts, each with its rationale,
    trials, cautions and sources, and what is not recommended and why. Decision support for the
    board: options and evidence, not a prescription. Session authentication: send the CSRF token
    in `X-CSRFToken`."""
    if not request.auth.has_perm("regimens.view_algorithmversion"):  # type: ignore[attr-defined]
        raise AuthorizationError
    try:
        facts = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return _errors("body", f"is not valid JSON: {error}")
    except RecursionError:
        return _errors("body", "is nested too deeply; send a flat JSON object of facts")
    try:
        return Status(200, services.recommend(facts))
    except FactsError as error:
        return _errors(error.field, error.message)
    except services.NoPublishedAlgorithm as error:
        return Status(503, {"detail": str(error)})
