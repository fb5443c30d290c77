"""Load SYNTHETIC demo cases and meetings (idempotent). Run after `load_evidence`.

Every case is invented: pseudonymous codes MM-DEMO-nnn, no names, no birth
dates. One case per setting of the relapse algorithm, one upcoming meeting
with an agenda, one past meeting with decisions made through the real
recommendation service, and the follow-up of two of those decisions (the
third is left for an editor to record).

For /outcomes/, a synthetic history: 84 invented patients (MM-DEMO-101 to
MM-DEMO-184) modelled on the demo cases, decided at monthly meetings over the
last three years, with invented follow-up (starts, IMWG responses,
progressions, next treatments, deaths, last contacts). Their times to
progression are drawn from one made-up distribution for every regimen: they
say nothing about any regimen.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import (
    AgendaItem,
    Attendee,
    Case,
    Decision,
    Meeting,
    Outcome,
    ProgressionBasis,
    ResponseAssessment,
    TherapyLine,
)
from regimens.models import Drug, Regimen

DEMO_USER = "demo-board-secretary"
UPCOMING_TITLE = "Myeloma tumour board (demo, upcoming)"
PAST_TITLE = "Myeloma tumour board (demo, last month)"

VRD = {"regimen_text": "VRd", "drug_keys": ["BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"]}
DVRD = {
    "regimen_text": "Dara-VRd",
    "drug_keys": ["DARATUMUMAB", "BORTEZOMIB", "LENALIDOMIDE", "DEXAMETHASONE"],
}
ASCT = {"asct": True, "other_drug_classes": ["alkylator"]}  # high-dose melphalan
LEN_MAINTENANCE = {"maintenance_drug_keys": ["LENALIDOMIDE"]}


def m(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


# code -> (case fields, lines, what the case shows)
CASES: list[dict[str, Any]] = [
    {
        "code": "MM-DEMO-001",
        "about": "Late first relapse off therapy, lenalidomide-sensitive (S0)",
        "case": {
            "age_at_diagnosis": 58,
            "sex": "F",
            "diagnosis": m("2019-02"),
            "iss": "I",
            "r_iss": "I",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "absent",
            "t_11_14": "absent",
            "frailty": "fit",
            "ecog": 0,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 1,
            "crcl_ml_min": 88,
            "car_t_eligible": "yes",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-09"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                "start": m("2019-03"),
                "end": m("2019-11"),
                "asct_date": m("2019-11"),
                "best_response": "CR",
                "outcome": "progression_later",
                "progression": m("2026-09"),
            },
        ],
    },
    {
        "code": "MM-DEMO-002",
        "about": "Progression on lenalidomide 10 mg maintenance, anti-CD38 naive (S1)",
        "case": {
            "age_at_diagnosis": 61,
            "sex": "M",
            "diagnosis": m("2021-01"),
            "iss": "II",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "present",
            "t_11_14": "absent",
            "frailty": "fit",
            "ecog": 1,
            "cardiovascular_risk": "controlled_hypertension",
            "peripheral_neuropathy_grade": 1,
            "crcl_ml_min": 74,
            "car_t_eligible": "yes",
            "ocular_surface_disease": "no",
            "current_relapse": m("2025-03"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2021-02"),
                "asct_date": m("2021-07"),
                "maintenance_start": m("2021-10"),
                "end": m("2025-03"),
                "len_dose_at_progression_mg": 10,
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2025-03"),
            },
        ],
    },
    {
        "code": "MM-DEMO-003",
        "about": "Daratumumab-lenalidomide double refractory after D-Rd (S2)",
        "case": {
            "age_at_diagnosis": 76,
            "sex": "F",
            "diagnosis": m("2020-09"),
            "iss": "II",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "absent",
            "t_11_14": "absent",
            "frailty": "intermediate",
            "ecog": 1,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 0,
            "crcl_ml_min": 52,
            "car_t_eligible": "no",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-06"),
        },
        "lines": [
            {
                "regimen": "DRD",
                "start": m("2020-10"),
                "end": m("2026-06"),
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-06"),
            },
        ],
    },
    {
        "code": "MM-DEMO-004",
        "about": "Triple-class exposed after three lines, CAR-T eligible",
        "case": {
            "age_at_diagnosis": 55,
            "sex": "M",
            "diagnosis": m("2018-04"),
            "iss": "II",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "present",
            "t_14_16": "absent",
            "gain_1q": "absent",
            "t_11_14": "absent",
            "frailty": "fit",
            "ecog": 1,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 1,
            "crcl_ml_min": 95,
            "car_t_eligible": "yes",
            "car_t_notes": "Fit, caregiver available, CAR-T centre 40 km away.",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-08"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2018-05"),
                "asct_date": m("2018-10"),
                "maintenance_start": m("2019-01"),
                "end": m("2021-06"),
                "len_dose_at_progression_mg": 10,
                "best_response": "CR",
                "outcome": "progression_on_therapy",
                "progression": m("2021-06"),
            },
            {
                "regimen": "DPD",
                "start": m("2021-07"),
                "end": m("2023-11"),
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2023-11"),
            },
            {
                "regimen": "KD",
                "start": m("2023-12"),
                "end": m("2026-08"),
                "best_response": "PR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-08"),
            },
        ],
    },
    {
        "code": "MM-DEMO-005",
        "about": "Progression after a BCMA bispecific antibody (post-BCMA)",
        "case": {
            "age_at_diagnosis": 63,
            "sex": "F",
            "diagnosis": m("2016-11"),
            "iss": "III",
            "r_iss": "II",
            "del_17p": "present",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "present",
            "t_11_14": "absent",
            "frailty": "intermediate",
            "ecog": 1,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 2,
            "crcl_ml_min": 66,
            "car_t_eligible": "no",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-07"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2016-12"),
                "asct_date": m("2017-05"),
                "maintenance_start": m("2017-08"),
                "end": m("2019-09"),
                "len_dose_at_progression_mg": 10,
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2019-09"),
            },
            {
                "regimen": "DPD",
                "start": m("2019-10"),
                "end": m("2021-12"),
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2021-12"),
            },
            {
                "regimen": "KD",
                "start": m("2022-01"),
                "end": m("2023-02"),
                "best_response": "PR",
                "outcome": "progression_on_therapy",
                "progression": m("2023-02"),
            },
            {
                "regimen": "TECLISTAMAB",
                "start": m("2023-03"),
                "end": m("2026-07"),
                "best_response": "CR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-07"),
            },
        ],
    },
    {
        "code": "MM-DEMO-006",
        "about": "Lenalidomide-refractory, daratumumab-sensitive after Dara-VRd induction (S1)",
        "case": {
            "age_at_diagnosis": 60,
            "sex": "M",
            "diagnosis": m("2022-03"),
            "iss": "I",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "absent",
            "t_11_14": "unknown",
            "frailty": "fit",
            "ecog": 0,
            "cardiovascular_risk": "heart_failure_or_reduced_lvef",
            "peripheral_neuropathy_grade": 1,
            "crcl_ml_min": 81,
            "car_t_eligible": "unknown",
            "ocular_surface_disease": "no",
            "prefers_fewer_hospital_visits": "yes",
            "current_relapse": m("2026-05"),
        },
        "lines": [
            {
                **DVRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2022-04"),
                "asct_date": m("2022-09"),
                "maintenance_start": m("2022-12"),
                "end": m("2026-05"),
                "len_dose_at_progression_mg": 10,
                "best_response": "sCR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-05"),
            },
        ],
    },
    {
        "code": "MM-DEMO-007",
        "about": "Double refractory with t(11;14), proteasome-inhibitor naive",
        "case": {
            "age_at_diagnosis": 72,
            "sex": "M",
            "diagnosis": m("2021-05"),
            "iss": "II",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "absent",
            "t_11_14": "present",
            "frailty": "intermediate",
            "ecog": 1,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 0,
            "crcl_ml_min": 58,
            "car_t_eligible": "no",
            "ocular_surface_disease": "yes",
            "current_relapse": m("2026-04"),
        },
        "lines": [
            {
                "regimen": "DRD",
                "start": m("2021-06"),
                "end": m("2026-04"),
                "best_response": "CR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-04"),
            },
        ],
    },
    {
        "code": "MM-DEMO-008",
        "about": "Early relapse (< 18 months) on lenalidomide maintenance, high-risk FISH",
        "case": {
            "age_at_diagnosis": 52,
            "sex": "F",
            "diagnosis": m("2024-10"),
            "iss": "III",
            "r_iss": "III",
            "del_17p": "present",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "present",
            "t_11_14": "absent",
            "frailty": "fit",
            "ecog": 1,
            "cardiovascular_risk": "none",
            "peripheral_neuropathy_grade": 1,
            "crcl_ml_min": 102,
            "car_t_eligible": "yes",
            "car_t_notes": "Referred to the CAR-T centre; bridging to be planned.",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-01"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2024-11"),
                "asct_date": m("2025-04"),
                "maintenance_start": m("2025-07"),
                "end": m("2026-01"),
                "len_dose_at_progression_mg": 10,
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-01"),
            },
        ],
    },
    {
        "code": "MM-DEMO-009",
        "about": "Penta-refractory after five lines",
        "case": {
            "age_at_diagnosis": 66,
            "sex": "M",
            "diagnosis": m("2015-06"),
            "iss": "II",
            "r_iss": "II",
            "del_17p": "absent",
            "t_4_14": "absent",
            "t_14_16": "absent",
            "gain_1q": "present",
            "t_11_14": "absent",
            "frailty": "frail",
            "ecog": 2,
            "cardiovascular_risk": "ischaemic_heart_disease",
            "peripheral_neuropathy_grade": 2,
            "crcl_ml_min": 41,
            "car_t_eligible": "no",
            "ocular_surface_disease": "no",
            "current_relapse": m("2026-10"),
        },
        "lines": [
            {
                **VRD,
                **ASCT,
                **LEN_MAINTENANCE,
                "start": m("2015-07"),
                "asct_date": m("2015-12"),
                "maintenance_start": m("2016-03"),
                "end": m("2018-04"),
                "len_dose_at_progression_mg": 10,
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2018-04"),
            },
            {
                "regimen": "DPD",
                "start": m("2018-05"),
                "end": m("2020-02"),
                "best_response": "VGPR",
                "outcome": "progression_on_therapy",
                "progression": m("2020-02"),
            },
            {
                "regimen": "KD",
                "start": m("2020-03"),
                "end": m("2021-05"),
                "best_response": "PR",
                "outcome": "progression_on_therapy",
                "progression": m("2021-05"),
            },
            {
                "regimen": "PVD",
                "start": m("2021-06"),
                "end": m("2022-03"),
                "best_response": "SD",
                "outcome": "progression_on_therapy",
                "progression": m("2022-03"),
            },
            {
                "regimen_text": "Clinical trial (CELMoD)",
                "other_drug_classes": ["celmod"],
                "drug_keys": ["DEXAMETHASONE"],
                "start": m("2022-04"),
                "end": m("2026-10"),
                "best_response": "PR",
                "outcome": "progression_on_therapy",
                "progression": m("2026-10"),
            },
        ],
    },
]

ATTENDEES = [
    ("Haematologist A (chair)", "haematology"),
    ("Haematologist B", "haematology"),
    ("Clinical pharmacist", "pharmacy"),
    ("Myeloma nurse specialist", "nursing"),
    ("Radiologist", "radiology"),
    ("Haematopathologist", "pathology"),
    ("Transplant and CAR-T physician", "transplant"),
]


class Command(BaseCommand):
    help = "Load synthetic demo cases, an upcoming meeting and a past meeting with decisions (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--without-history",
            dest="history",
            action="store_false",
            help="Leave out the synthetic outcomes history (the demo board's nine cases only).",
        )

    def handle(self, *args, history: bool = True, **options):
        needed_regimens = {line["regimen"] for spec in CASES for line in spec["lines"] if "regimen" in line}
        needed_drugs = {k for spec in CASES for line in spec["lines"]
                        for k in line.get("drug_keys", []) + line.get("maintenance_drug_keys", [])}  # fmt: skip
        regimens = {r.key: r for r in Regimen.objects.filter(key__in=needed_regimens)}
        drugs = set(Drug.objects.filter(key__in=needed_drugs).values_list("key", flat=True))
        missing = sorted((needed_regimens - regimens.keys()) | (needed_drugs - drugs))
        if missing:
            raise CommandError(
                f"The knowledge base lacks {', '.join(missing)}: run `python manage.py load_evidence` first."
            )
        with transaction.atomic():
            cases = {spec["code"]: self._case(spec, regimens) for spec in CASES}
            user = self._user()
            upcoming, past = self._meetings()
            self._agenda(
                upcoming, [cases[c] for c in ("MM-DEMO-002", "MM-DEMO-003", "MM-DEMO-006", "MM-DEMO-008")]
            )
            self._agenda(past, [cases[c] for c in ("MM-DEMO-004", "MM-DEMO-005", "MM-DEMO-009")])
            decided = self._decisions(past, user)
            self._demo_follow_up(past)
            made = self._history(regimens, user) if history else 0
        self.stdout.write(
            f"Demo data: {len(cases)} synthetic cases, meetings {upcoming.pk} (upcoming) and {past.pk} (past), "
            f"{decided} new decision(s); outcomes history: {made} synthetic decided patients."
        )

    def _case(self, spec: dict[str, Any], regimens: dict[str, Regimen]) -> Case:
        fields = {**spec["case"], "notes": f"Synthetic demo case: {spec['about']}."}
        case, created = Case.objects.get_or_create(code=spec["code"], defaults=fields)
        if not created:
            changed = [name for name, value in fields.items() if getattr(case, name) != value]
            if changed:
                for name in changed:
                    setattr(case, name, fields[name])
                case.version += 1
                case.save()
        wanted = set()
        for number, line_spec in enumerate(spec["lines"], start=1):
            values = {
                "regimen": regimens.get(line_spec.get("regimen", "")),
                "regimen_text": line_spec.get("regimen_text", ""),
                "drug_keys": line_spec.get("drug_keys", []),
                "other_drug_classes": line_spec.get("other_drug_classes", []),
                "start": line_spec["start"],
                "end": line_spec.get("end"),
                "progression": line_spec.get("progression"),
                "asct": line_spec.get("asct", False),
                "asct_date": line_spec.get("asct_date"),
                "maintenance_drug_keys": line_spec.get("maintenance_drug_keys", []),
                "maintenance_start": line_spec.get("maintenance_start"),
                "len_dose_at_progression_mg": line_spec.get("len_dose_at_progression_mg"),
                "best_response": line_spec.get("best_response", ""),
                "outcome": line_spec["outcome"],
            }
            line = TherapyLine.objects.filter(case=case, number=number).first()
            if line is None:
                TherapyLine.objects.create(case=case, number=number, **values)
            else:
                current = {k: getattr(line, k) for k in values}
                if line.len_dose_at_progression_mg is not None:
                    current["len_dose_at_progression_mg"] = float(line.len_dose_at_progression_mg)
                if current != values:
                    for k, v in values.items():
                        setattr(line, k, v)
                    line.save()
            wanted.add(number)
        TherapyLine.objects.filter(case=case).exclude(number__in=wanted).delete()
        return case

    def _user(self):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USER, defaults={"is_active": False})
        if created:
            user.set_unusable_password()
            user.save()
        return user

    def _meetings(self) -> tuple[Meeting, Meeting]:
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        # Next Thursday, and a Thursday about a month ago; both at 14:00.
        upcoming_day = today + timedelta(days=(3 - today.weekday()) % 7 or 7)
        past_day = upcoming_day - timedelta(weeks=5)
        upcoming, _ = Meeting.objects.update_or_create(
            title=UPCOMING_TITLE,
            defaults={
                "date": datetime.combine(upcoming_day, time(14), tzinfo=tz),
                "location": "Room 3 and video link",
            },
        )
        past, created = Meeting.objects.get_or_create(
            title=PAST_TITLE,
            defaults={
                "date": datetime.combine(past_day, time(14), tzinfo=tz),
                "location": "Room 3 and video link",
            },
        )
        for meeting in (upcoming, past):
            for name, specialty in ATTENDEES:
                Attendee.objects.get_or_create(meeting=meeting, name=name, defaults={"specialty": specialty})
        return upcoming, past

    def _agenda(self, meeting: Meeting, cases: list[Case]) -> None:
        for position, case in enumerate(cases, start=1):
            AgendaItem.objects.get_or_create(
                meeting=meeting,
                case=case,
                defaults={"position": position, "question": "Next line of therapy?"},
            )

    def _decisions(self, meeting: Meeting, user) -> int:
        created = 0
        for item in meeting.agenda.select_related("case"):
            case = item.case
            if Decision.objects.filter(meeting=meeting, case=case).exists():
                continue
            options = services.options_for(case)
            chosen = options.first_listed()
            key = chosen["key"] if chosen else "CLINICAL-TRIAL"
            Decision.objects.create(
                case=case,
                meeting=meeting,
                option_key=key,
                option_label=chosen["label"] if chosen else "Clinical trial screening",
                category=(chosen or {}).get("category", ""),
                rationale=(
                    "Synthetic demo decision: the board chose the first option listed"
                    f" ({(chosen or {}).get('category', 'no option listed')}) for this setting."
                ),
                dissent="" if created % 2 else "Pharmacy asked to confirm reimbursement before starting.",
                patient_preference="Prefers an outpatient regimen.",
                follow_up=timezone.localdate() + timedelta(weeks=4),
                algorithm_version=str(options.recommendation.get("algorithm_version", ""))[:80],
                snapshot=services.snapshot(case, options),
                recorded_by=user,
            )
            created += 1
        return created

    # --- Follow-up and the synthetic history behind /outcomes/ -----------------------------------------

    def _demo_follow_up(self, past: Meeting) -> None:
        """MM-DEMO-004 started and responding, MM-DEMO-005 not started; MM-DEMO-009 is left to record."""
        decided = past.date.date()
        for decision in Decision.objects.filter(meeting=past).select_related("case"):
            if Outcome.objects.filter(decision=decision).exists():
                continue
            if decision.case.code == "MM-DEMO-004":
                decision.status = "started"
                decision.save(update_fields=["status"])
                outcome = Outcome.objects.create(
                    decision=decision,
                    start=decided + timedelta(days=9),
                    last_contact=decided + timedelta(days=30),
                )
                ResponseAssessment.objects.create(
                    outcome=outcome, date=decided + timedelta(days=30), response="PR"
                )
            elif decision.case.code == "MM-DEMO-005":
                decision.status, decision.deviation_reason = "not_started", "trial"
                decision.save(update_fields=["status", "deviation_reason"])
                Outcome.objects.create(decision=decision, last_contact=decided + timedelta(days=14))

    def _history(self, regimens: dict[str, Regimen], user) -> int:
        """84 synthetic decided patients over three years of monthly meetings, with follow-up."""
        rng = random.Random(20261206)
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        templates = {spec["code"]: spec for spec in CASES}
        made = 0
        for n, template_code in enumerate(HISTORY_PLAN):
            code = f"MM-DEMO-{101 + n:03d}"
            month = HISTORY_MONTHS - n * HISTORY_MONTHS // len(HISTORY_PLAN)  # months before today
            meeting, _ = Meeting.objects.get_or_create(
                title=f"{HISTORY_TITLE} {month:02d}",
                defaults={
                    "date": datetime.combine(today - timedelta(days=30 * month + 3), time(14), tzinfo=tz),
                    "location": "Room 3 and video link",
                },
            )
            decided = meeting.date.date()
            case = self._history_case(code, templates[template_code], decided, regimens)
            AgendaItem.objects.get_or_create(
                meeting=meeting,
                case=case,
                defaults={"position": n % 4 + 1, "question": "Next line of therapy?"},
            )
            decision = Decision.objects.filter(meeting=meeting, case=case).first()
            if decision is None:
                decision = self._history_decision(
                    n, case, meeting, services.options_for(case), decided, user, today
                )
                self._history_outcome(rng, n, decision, decided, today)
            made += 1
        return made

    def _history_case(self, code: str, template: dict[str, Any], decided: date, regimens) -> Case:
        """A copy of a demo case, its dates moved so that its relapse is the month of the decision."""
        relapse = template["case"]["current_relapse"]
        shift = (decided.year - relapse.year) * 12 + decided.month - relapse.month

        def moved(day: date | None) -> date | None:
            if day is None:
                return None
            total = day.year * 12 + day.month - 1 + shift
            return date(total // 12, total % 12 + 1, 1)

        fields = {**template["case"], "diagnosis": moved(template["case"]["diagnosis"]),
                  "current_relapse": moved(relapse), "car_t_notes": "",
                  "notes": f"Synthetic patient (invented) for the outcomes page, modelled on {template['code']}."}  # fmt: skip
        case, created = Case.objects.get_or_create(code=code, defaults=fields)
        if created:
            for number, line in enumerate(template["lines"], start=1):
                TherapyLine.objects.create(
                    case=case,
                    number=number,
                    regimen=regimens.get(line.get("regimen", "")),
                    regimen_text=line.get("regimen_text", ""),
                    drug_keys=line.get("drug_keys", []),
                    other_drug_classes=line.get("other_drug_classes", []),
                    start=moved(line["start"]),
                    end=moved(line.get("end")),
                    progression=moved(line.get("progression")),
                    asct=line.get("asct", False),
                    asct_date=moved(line.get("asct_date")),
                    maintenance_drug_keys=line.get("maintenance_drug_keys", []),
                    maintenance_start=moved(line.get("maintenance_start")),
                    len_dose_at_progression_mg=line.get("len_dose_at_progression_mg"),
                    best_response=line.get("best_response", ""),
                    outcome=line["outcome"],
                )
        return case

    def _history_decision(
        self, n, case, meeting, shown: services.CaseOptions, decided, user, today
    ) -> Decision:
        """Mostly the first option; every tenth another option, something else, or an excluded regimen."""
        recommendation = shown.recommendation
        options = [o for g in shown.presented["groups"] for o in g["options"]]
        excluded = shown.presented["not_recommended"]
        turn = n % 10
        if turn == 7 and len(options) > 1:
            key = str(options[1]["key"])
        elif turn == 8:
            key = "OTHER"
        elif turn == 9 and excluded:
            key = str(excluded[0]["key"])
        else:
            first = shown.first_listed()
            key = first["key"] if first else "CLINICAL-TRIAL"
        label = "Other: local protocol (synthetic)" if key == "OTHER" else shown.label(key)
        if (today - decided).days < 45:
            status, reason = "planned", ""
        elif n % 9 == 4:
            status, reason = "not_started", NOT_STARTED_REASONS[(n // 9) % len(NOT_STARTED_REASONS)]
        else:
            status, reason = "started", ""
        decision = Decision.objects.create(
            case=case,
            meeting=meeting,
            option_key=key,
            option_label=label,
            category=next((str(o.get("category", "")) for o in options if o.get("key") == key), ""),
            rationale="Synthetic decision for the outcomes demo (invented patient).",
            follow_up=decided + timedelta(weeks=6),
            status=status,
            deviation_reason=reason,
            algorithm_version=str(recommendation.get("algorithm_version", ""))[:80],
            snapshot=services.snapshot(case, shown),
            recorded_by=user,
        )
        Decision.objects.filter(pk=decision.pk).update(recorded_at=meeting.date)
        return decision

    def _history_outcome(
        self, rng: random.Random, n: int, decision: Decision, decided: date, today: date
    ) -> None:
        """Invented follow-up: one made-up distribution of times for every regimen."""
        if decision.status == "planned":
            return
        if decision.status == "not_started":
            Outcome.objects.create(decision=decision, last_contact=min(decided + timedelta(days=20), today))
            return
        start = decided + timedelta(days=rng.randint(6, 40))
        month_precision = n % 6 == 5  # some dates known to the month only
        progression_day = start + timedelta(days=int(rng.expovariate(1 / 300)) + 20)
        next_day = progression_day + timedelta(days=rng.randint(10, 60))
        death_day = next_day + timedelta(days=int(rng.expovariate(1 / 500)))
        seen = today - timedelta(days=rng.randint(0, 50))
        outcome = Outcome(decision=decision, start=start)
        if month_precision:
            outcome.start, outcome.start_precision = start.replace(day=1), "month"
        if progression_day <= seen:
            outcome.progression = progression_day
            outcome.progression_basis = PROGRESSION_BASES[n % len(PROGRESSION_BASES)]
        if next_day <= seen:
            outcome.next_treatment = next_day
        if death_day <= seen and n % 3 == 0:
            outcome.death = death_day
        else:
            outcome.last_contact = seen
        outcome.save()
        for months, response in ((2, RESPONSES[n % len(RESPONSES)]), (5, "VGPR" if n % 2 else "CR")):
            day = start + timedelta(days=30 * months)
            if day <= min(progression_day, seen):
                ResponseAssessment.objects.create(outcome=outcome, date=day, response=response)


HISTORY_TITLE = "Myeloma tumour board (demo, synthetic history)"
HISTORY_MONTHS = 36
# The demo case each synthetic patient copies, in order of decision (oldest first), interleaved.
HISTORY_PLAN = [
    code
    for _round in range(7)
    for code in ("MM-DEMO-002", "MM-DEMO-009", "MM-DEMO-003", "MM-DEMO-005", "MM-DEMO-009", "MM-DEMO-008",
                 "MM-DEMO-002", "MM-DEMO-004", "MM-DEMO-009", "MM-DEMO-006", "MM-DEMO-009", "MM-DEMO-003")
]  # fmt: skip
NOT_STARTED_REASONS = ("patient_choice", "clinical_deterioration", "access", "trial", "toxicity_comorbidity")
PROGRESSION_BASES = [b.value for b in ProgressionBasis]
RESPONSES = ("PR", "VGPR", "PR", "CR", "SD", "VGPR")
