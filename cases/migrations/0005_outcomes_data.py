"""Fill the decisions' setting and concordance from their snapshots; the cases revision row; roles."""

from django.db import migrations

from cases import outcomes
from cases.roles import FOLLOW_UP_ROLES
from regimens.roles import sync_roles


def derive(apps, schema_editor):
    Decision = apps.get_model("cases", "Decision")
    for decision in Decision.objects.all().iterator(chunk_size=200):
        recommendation = (decision.snapshot or {}).get("recommendation") or {}
        setting, label = outcomes.decision_setting(decision.option_key, recommendation)
        Decision.objects.filter(pk=decision.pk).update(
            setting=setting,
            setting_label=label[:300],
            concordance=outcomes.concordance_of(decision.option_key, recommendation),
        )
    apps.get_model("cases", "CasesRevision").objects.get_or_create(pk=1, defaults={"number": 1})


def roles(apps, schema_editor):
    sync_roles(apps, schema_editor, roles=FOLLOW_UP_ROLES)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_follow_up_and_outcomes")]

    operations = [
        migrations.RunPython(derive, migrations.RunPython.noop),
        migrations.RunPython(roles, migrations.RunPython.noop),
    ]
