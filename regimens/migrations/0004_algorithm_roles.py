from django.db import migrations

from regimens.roles import ALGORITHM_ROLES, sync_roles


def sync_algorithm_roles(apps, schema_editor):
    sync_roles(apps, schema_editor, roles=ALGORITHM_ROLES)


class Migration(migrations.Migration):
    dependencies = [("regimens", "0003_algorithm_versions")]

    operations = [migrations.RunPython(sync_algorithm_roles, migrations.RunPython.noop)]
