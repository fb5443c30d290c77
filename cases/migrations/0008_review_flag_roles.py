from django.db import migrations

from cases.roles import REVIEW_FLAG_ROLES
from regimens.roles import sync_roles


def sync_case_roles(apps, schema_editor):
    sync_roles(apps, schema_editor, roles=REVIEW_FLAG_ROLES)


class Migration(migrations.Migration):
    dependencies = [("cases", "0007_review_flags")]

    operations = [migrations.RunPython(sync_case_roles, migrations.RunPython.noop)]
