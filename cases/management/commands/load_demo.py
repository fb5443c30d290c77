"""Load SYNTHETIC demo cases and meetings (idempotent). Run after `load_evidence`.

Every case is invented: pseudonymous codes MM-DEMO-nnn, no names, no birth
dates. One case per setting of the relapse algorithm, one upcoming meeting
with an agenda, one past meeting with decisions made through the real
recommendation service.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import AgendaItem, Attendee, Case, Decision, Meeting, TherapyLine
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

    def handle(self, *args, **options):
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
        self.stdout.write(
            f"Demo data: {len(cases)} synthetic cases, meetings {upcoming.pk} (upcoming) and {past.pk} (past), "
            f"{decided} new decision(s)."
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
