from django.db import migrations

from cases.roles import ROLES
from regimens.roles import sync_roles


def sync_case_roles(apps, schema_editor):
    sync_roles(apps, schema_editor, roles=ROLES)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0001_initial"),
        ("regimens", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_case_roles, migrations.RunPython.noop)]
