"""Admin for the versioned relapse algorithm: versions, settings, options, modifiers.

Curators copy the published version to a draft ("Copy to new draft") or load
one from a file (`manage.py load_algorithm FILE --as-draft LABEL`), edit the
draft's settings, options and modifiers, compare it with the published version
(the diff page, linked from the list and the version's page) and publish it
("Publish…"): a confirmation page shows what the draft changes for the cases in
care (computed by the task worker, with a progress bar) and publishing from it
runs `versions.publish` (every regimen, action, input and trial referenced must
exist) and flags the changed cases for review (`impact.publish_reviewed`). Published and retired versions are read-only here and cannot be
deleted; the models refuse changes too. Forms check conditions, regimen and
action keys, categories, trials and modifier keys, in words a curator reads.

Found by the admin's autodiscovery (the models are in regimens/).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from algorithm import impact
from algorithm.engine.rules import ACTIONS, CATEGORIES, RulesError, compile_condition
from algorithm.tasks import start_impact
from algorithm.version_views import diff_url, impact_context
from algorithm.versions import PublishError, copy_to_draft, problems_with, publish, regimen_components
from regimens.models import (
    Action,
    AlgorithmModifier,
    AlgorithmOption,
    AlgorithmSetting,
    AlgorithmStatus,
    AlgorithmVersion,
    ImpactRun,
    Regimen,
    Trial,
)

CONDITION_HELP = (
    'Conditions over the case facts, as JSON. A test: {"input": "len_status", "in": ["refractory"]}; '
    'tests: in, eq, gt, gte, lt, lte, between, includes; combine with {"all": [...]} or {"any": [...]}; '
    '{"always": true} matches every case. Input keys are those of the algorithm file (len_status, '
    "anti_cd38_status, prior_lines, frailty, ...)."
)


def _condition_error(data: Any, what: str) -> str | None:
    try:
        compile_condition(data, what)
    except RulesError as error:
        return f"{error.path}: {error.message}"
    return None


def _known_option_keys() -> set[str]:
    return set(Regimen.objects.values_list("key", flat=True)) | set(
        Action.objects.values_list("key", flat=True)
    )


def _is_draft(version: AlgorithmVersion | None) -> bool:
    return version is None or version.status == AlgorithmStatus.DRAFT


# -- forms ---------------------------------------------------------------------------------------


class AlgorithmSettingForm(forms.ModelForm):
    class Meta:
        model = AlgorithmSetting
        fields = ["version", "key", "label", "order", "when", "details"]
        help_texts = {"when": CONDITION_HELP}

    def clean_when(self):
        when = self.cleaned_data["when"]
        if error := _condition_error(when, "when"):
            raise forms.ValidationError(f"This condition cannot be used: {error}")
        return when

    def clean_version(self):
        version = self.cleaned_data["version"]
        if not _is_draft(version):
            raise forms.ValidationError(f"Version {version.label} is {version.status}: edit a draft instead.")
        return version


class AlgorithmOptionForm(forms.ModelForm):
    class Meta:
        model = AlgorithmOption
        fields = ["setting", "order", "option_key", "category", "rationale", "trials", "requires", "cautions",
                  "placed_by", "details"]  # fmt: skip
        help_texts = {
            "option_key": "A regimen key of the knowledge base (e.g. ISA-KD, SVD) or an action key "
            "(e.g. CLINICAL-TRIAL).",
            "category": "preferred, alternative, consider or future (see the categories of the algorithm file).",
            "trials": 'Trial keys of the knowledge base, as a JSON list, e.g. ["BOSTON"].',
            "requires": "Further conditions the patient must meet, as JSON (empty list: none). "
            + CONDITION_HELP,
            "cautions": 'Modifier keys of this version that always apply here, e.g. ["MOD-CFZ-CV"].',
            "placed_by": 'Source by source, what each says: [{"source": "seed-barila-2025", "placement": ...}].',
        }

    def clean_option_key(self):
        key = self.cleaned_data["option_key"].strip()
        if key not in _known_option_keys():
            raise forms.ValidationError(
                f"{key!r} is neither a regimen nor an action in the knowledge base; "
                "add the regimen first (Regimens) or use its key as written there (e.g. ISA-KD)."
            )
        return key

    def clean_category(self):
        category = self.cleaned_data["category"]
        if category not in CATEGORIES:
            raise forms.ValidationError(
                f"An option's category must be one of {', '.join(CATEGORIES)}; to advise against a regimen, "
                "list it under the setting's not_recommended (in its details) instead."
            )
        return category

    def clean_trials(self):
        trials = self.cleaned_data["trials"] or []
        if not isinstance(trials, list) or not all(isinstance(t, str) for t in trials):
            raise forms.ValidationError('Write the trials as a JSON list of trial keys, e.g. ["BOSTON"].')
        missing = sorted(
            set(trials) - set(Trial.objects.filter(key__in=trials).values_list("key", flat=True))
        )
        if missing:
            raise forms.ValidationError(f"Not a trial in the knowledge base: {', '.join(missing)}.")
        return trials

    def clean_requires(self):
        requires = self.cleaned_data["requires"]
        if requires in (None, [], {}):
            return []
        if error := _condition_error(requires, "requires"):
            raise forms.ValidationError(f"This condition cannot be used: {error}")
        return requires

    def clean(self):
        cleaned = super().clean()
        setting = cleaned.get("setting")
        cautions = cleaned.get("cautions") or []
        if setting is not None:
            if not _is_draft(setting.version):
                raise forms.ValidationError(
                    f"Version {setting.version.label} is {setting.version.status}: edit a draft instead."
                )
            known = set(setting.version.modifiers.values_list("key", flat=True))
            unknown = sorted(set(cautions) - known) if isinstance(cautions, list) else ["(not a list)"]
            if unknown:
                self.add_error(
                    "cautions", f"Not a modifier of version {setting.version.label}: {', '.join(unknown)}."
                )
        return cleaned


class AlgorithmModifierForm(forms.ModelForm):
    class Meta:
        model = AlgorithmModifier
        fields = [
            "version",
            "key",
            "order",
            "applies_to",
            "trigger",
            "effect",
            "apply",
            "evidence",
            "details",
        ]
        help_texts = {
            "trigger": CONDITION_HELP,
            "apply": f'What the engine does, e.g. [{{"action": "demote"}}]; actions: {", ".join(ACTIONS)}.',
        }

    def clean_trigger(self):
        trigger = self.cleaned_data["trigger"]
        if error := _condition_error(trigger, "trigger"):
            raise forms.ValidationError(f"This condition cannot be used: {error}")
        return trigger

    def clean_applies_to(self):
        applies = self.cleaned_data["applies_to"]
        if isinstance(applies, str) and (applies.startswith("input:") or applies == "all"):
            return applies
        if isinstance(applies, dict) and applies and set(applies) <= {"regimens", "drugs"}:
            # Options by component: {"drugs": ["CARFILZOMIB"]} reaches every regimen containing it.
            components, _ = regimen_components()
            known_drugs = set().union(*components.values()) if components else set()
            unknown_drugs = sorted(set(applies.get("drugs") or []) - known_drugs)
            if unknown_drugs:
                raise forms.ValidationError(
                    f"Neither a drug nor a drug class of any regimen: {', '.join(unknown_drugs)}."
                )
            applies_keys = applies.get("regimens") or []
        elif isinstance(applies, list):
            applies_keys = applies
        else:
            raise forms.ValidationError(
                'A JSON list of regimen or action keys, {"drugs": [...]}, "all", or "input:<key>".'
            )
        unknown = sorted(set(applies_keys) - _known_option_keys())
        if unknown:
            raise forms.ValidationError(
                f"Neither a regimen nor an action in the knowledge base: {', '.join(unknown)}."
            )
        return applies

    def clean_apply(self):
        apply = self.cleaned_data["apply"] or []
        bad = [a for a in apply if not isinstance(a, dict) or a.get("action") not in ACTIONS]
        if bad:
            raise forms.ValidationError(
                f"Each entry needs an action among {', '.join(ACTIONS)} (got {bad[0]!r})."
            )
        return apply


# -- inlines --------------------------------------------------------------------------------------


class _DraftOnlyInline:
    """Inline rows editable only while their version is a draft."""

    def _version(self, obj) -> AlgorithmVersion | None:
        if obj is None:
            return None
        return obj if isinstance(obj, AlgorithmVersion) else obj.version

    def has_add_permission(self, request, obj=None):
        return _is_draft(self._version(obj)) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_draft(self._version(obj)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _is_draft(self._version(obj)) and super().has_delete_permission(request, obj)


class AlgorithmSettingInline(_DraftOnlyInline, admin.TabularInline):
    model = AlgorithmSetting
    form = AlgorithmSettingForm
    fields = ["order", "key", "label", "when"]
    extra = 0
    show_change_link = True


class AlgorithmModifierInline(_DraftOnlyInline, admin.TabularInline):
    model = AlgorithmModifier
    form = AlgorithmModifierForm
    fields = ["order", "key", "effect"]
    extra = 0
    show_change_link = True


class AlgorithmOptionInline(_DraftOnlyInline, admin.StackedInline):
    model = AlgorithmOption
    form = AlgorithmOptionForm
    fields = ["order", "option_key", "category", "rationale", "trials", "requires", "cautions"]
    extra = 0
    show_change_link = True


# -- model admins ---------------------------------------------------------------------------------


class _VersionedRowAdmin(admin.ModelAdmin):
    """Rows of a version: read-only unless the version is a draft."""

    def version_of(self, obj) -> AlgorithmVersion:
        return obj.version

    def has_change_permission(self, request, obj=None):
        return (obj is None or _is_draft(self.version_of(obj))) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return (obj is None or _is_draft(self.version_of(obj))) and super().has_delete_permission(
            request, obj
        )

    def delete_queryset(self, request, queryset):
        # Bulk delete: the admin already refuses rows it may not delete; never let a frozen row through.
        for obj in queryset:
            obj.delete()


@admin.register(AlgorithmVersion)
class AlgorithmVersionAdmin(admin.ModelAdmin):
    list_display = ["label", "status", "published_at", "published_by", "setting_count", "option_count",
                    "modifier_count", "created_at", "changes_link"]  # fmt: skip
    change_form_template = "admin/regimens/algorithmversion/change_form.html"
    list_filter = ["status"]
    search_fields = ["label", "change_notes"]
    list_select_related = ["published_by", "copied_from"]
    readonly_fields = [
        "status",
        "published_at",
        "published_by",
        "copied_from",
        "created_at",
        "open_questions",
    ]
    fields = ["label", "status", "change_notes", "copied_from", "published_at", "published_by", "created_at",
              "open_questions", "document"]  # fmt: skip
    inlines = [AlgorithmSettingInline, AlgorithmModifierInline]
    actions = ["copy_to_new_draft", "publish_draft"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _settings=Count("settings", distinct=True),
                _options=Count("settings__options", distinct=True),
                _modifiers=Count("modifiers", distinct=True),
                _published=Subquery(
                    AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).values("label")[:1]
                ),
            )
        )

    @admin.display(description="settings", ordering="_settings")
    def setting_count(self, obj):
        return getattr(obj, "_settings", None)

    @admin.display(description="options", ordering="_options")
    def option_count(self, obj):
        return getattr(obj, "_options", None)

    @admin.display(description="modifiers", ordering="_modifiers")
    def modifier_count(self, obj):
        return getattr(obj, "_modifiers", None)

    @admin.display(description=gettext_lazy("changes"))
    def changes_link(self, obj):
        # A draft against the published version, any other version against the one it was copied from.
        if obj.status == AlgorithmStatus.DRAFT:
            base = getattr(obj, "_published", None)
        else:
            base = obj.copied_from.label if obj.copied_from_id else None
        if not base:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', diff_url(base, obj.label), _("against %(label)s") % {"label": base}
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if version is not None and (base := _compared_with(version)) is not None:
            extra["diff_url"], extra["diff_base"] = diff_url(base, version), base.label
        if version is not None and version.status == AlgorithmStatus.DRAFT:
            extra["publish_url"] = reverse("admin:regimens_algorithmversion_publish", args=[version.pk])
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="regimens_algorithmversion_publish",
            ),
            *super().get_urls(),
        ]

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Publishing, confirmed: the draft's impact on the cases in care first, then "Publish"."""
        version = self.get_object(request, unquote(object_id))
        if version is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, version):
            self.message_user(request, _("Only a draft can be published."), messages.ERROR)
            return redirect("admin:regimens_algorithmversion_changelist")
        here = reverse("admin:regimens_algorithmversion_publish", args=[version.pk])
        published = AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).first()
        if request.method == "POST" and published is None:
            return self._publish_first(request, version)
        if request.method == "POST" and "publish" in request.POST:
            run = ImpactRun.objects.filter(pk=request.POST.get("run"), draft=version).first()
            try:
                if run is None:
                    raise PublishError(_("The impact on the cases in care has not been computed yet."))
                flagged = impact.publish_reviewed(run, request.user)
            except PublishError as error:
                self.message_user(
                    request,
                    _("%(label)s was not published: %(error)s") % {"label": version.label, "error": error},
                    messages.ERROR,
                )
                return HttpResponseRedirect(here)
            self.message_user(request, _published_message(version.label, flagged), messages.SUCCESS)
            return redirect("admin:regimens_algorithmversion_changelist")
        if request.method == "POST":
            start_impact(version, published, request.user)
            return HttpResponseRedirect(here)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": version,
            "title": _("Publish %(label)s?") % {"label": version.label},
            "published": published,
            "publish_action": here,
        }
        if published is not None:
            context.update(impact_context(request, version, published))
            context["page_url"] = here  # the impact part reloads, and runs, here
            context["version_diff"] = diff_url(published, version)
        return TemplateResponse(request, "admin/regimens/algorithmversion/publish.html", context)

    def _publish_first(self, request: HttpRequest, version: AlgorithmVersion) -> HttpResponse:
        # Nothing is published yet, so no case has options to change.
        try:
            publish(version, request.user)
        except PublishError as error:
            self.message_user(
                request,
                _("%(label)s was not published: %(error)s") % {"label": version.label, "error": error},
                messages.ERROR,
            )
            return redirect("admin:regimens_algorithmversion_changelist")
        self.message_user(request, _published_message(version.label, 0), messages.SUCCESS)
        return redirect("admin:regimens_algorithmversion_changelist")

    @admin.display(description="open questions of the algorithm file")
    def open_questions(self, obj):
        questions = (obj.document or {}).get("open_questions") or []
        if not questions:
            return "none recorded"
        items = format_html_join(
            "",
            "<li><strong>{}</strong>: {}<br>{}</li>",
            ((q.get("id", ""), q.get("topic", ""), q.get("detail", "")) for q in questions),
        )
        return format_html('<ul class="open-questions">{}</ul>', items)

    def has_change_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj)) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return (obj is None or _is_draft(obj)) and super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        # "Delete selected" already asks has_delete_permission per version; drafts only, to be sure.
        queryset.filter(status=AlgorithmStatus.DRAFT).delete()

    @admin.action(description="Copy to new draft", permissions=["add"])
    def copy_to_new_draft(self, request: HttpRequest, queryset) -> None:
        for version in queryset:
            label = _draft_label(version.label)
            draft = copy_to_draft(version, label)
            self.message_user(
                request, f"Copied {version.label} to the new draft {draft.label}.", messages.SUCCESS
            )

    @admin.action(
        description=gettext_lazy("Publish… (shows the impact on the cases in care first)"),
        permissions=["change"],
    )
    def publish_draft(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one draft to publish.", messages.ERROR)
            return None
        version = queryset.get()
        problems = (
            [f"Only a draft can be published; {version.label} is {version.status}."]
            if version.status != AlgorithmStatus.DRAFT
            else problems_with(version.to_rules_dict(), version.label)
        )
        if problems:
            self.message_user(
                request,
                _("%(label)s was not published: %(error)s")
                % {"label": version.label, "error": "; ".join(problems)},
                messages.ERROR,
            )
            return None
        published = AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).first()
        if published is not None:
            start_impact(version, published, request.user)
        return HttpResponseRedirect(reverse("admin:regimens_algorithmversion_publish", args=[version.pk]))


def _compared_with(version: AlgorithmVersion) -> AlgorithmVersion | None:
    """The version a version's changes are read against: the published one for a draft, else its origin."""
    if version.status == AlgorithmStatus.DRAFT:
        return AlgorithmVersion.objects.filter(status=AlgorithmStatus.PUBLISHED).first()
    return version.copied_from


def _published_message(label: str, flagged: int) -> str:
    return ngettext(
        "Published %(label)s; the previous version is retired. %(count)s case in care is flagged for review.",
        "Published %(label)s; the previous version is retired. %(count)s cases in care are flagged for review.",
        flagged,
    ) % {"label": label, "count": flagged}


def _draft_label(label: str) -> str:
    base = label.split("-draft-")[0]
    taken = set(
        AlgorithmVersion.objects.filter(label__startswith=f"{base}-draft-").values_list("label", flat=True)
    )
    n = 1
    while f"{base}-draft-{n}" in taken:
        n += 1
    return f"{base}-draft-{n}"


@admin.register(AlgorithmSetting)
class AlgorithmSettingAdmin(_VersionedRowAdmin):
    form = AlgorithmSettingForm
    list_display = ["key", "label", "version", "order"]
    list_filter = ["version"]
    search_fields = ["key", "label"]
    list_select_related = ["version"]
    inlines = [AlgorithmOptionInline]


@admin.register(AlgorithmOption)
class AlgorithmOptionAdmin(_VersionedRowAdmin):
    form = AlgorithmOptionForm
    list_display = ["option_key", "category", "setting", "version_label", "order"]
    list_filter = ["setting__version", "category"]
    search_fields = ["option_key", "setting__key", "rationale"]
    list_select_related = ["setting__version"]

    def version_of(self, obj) -> AlgorithmVersion:
        return obj.setting.version

    @admin.display(description="version", ordering="setting__version__label")
    def version_label(self, obj):
        return obj.setting.version.label


@admin.register(AlgorithmModifier)
class AlgorithmModifierAdmin(_VersionedRowAdmin):
    form = AlgorithmModifierForm
    list_display = ["key", "version", "order"]
    list_filter = ["version"]
    search_fields = ["key", "effect"]
    list_select_related = ["version"]
