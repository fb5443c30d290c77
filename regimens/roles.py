"""The three roles of mmboard, as Django groups with model permissions.

Data migrations call `sync_roles`; a later app (cases) adds its models to
ROLES and calls it again from its own migration.
"""

KNOWLEDGE_BASE_MODELS = [
    "source", "drug", "caution", "regulatoryevent", "regimen", "regimencomponent",
    "approval", "action", "trial", "trialarm", "result",
]  # fmt: skip

BOARD_MEMBER = "Board member"
CASE_EDITOR = "Case editor"
CURATOR = "Curator"

# role -> list of (app_label, model, actions)
ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    BOARD_MEMBER: [("regimens", m, ("view",)) for m in KNOWLEDGE_BASE_MODELS],
    CASE_EDITOR: [("regimens", m, ("view",)) for m in KNOWLEDGE_BASE_MODELS],
    CURATOR: [("regimens", m, ("view", "add", "change", "delete")) for m in KNOWLEDGE_BASE_MODELS],
}


def sync_roles(apps, schema_editor=None, roles=ROLES) -> None:
    """Create the groups and give each exactly the permissions listed for it."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate`; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for app_label, model, actions in grants:
            for action in actions:
                wanted.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
                )
        group.permissions.add(*wanted)


# Added with the algorithm versions (migration 0004): curators edit and publish
# the algorithm; everyone else may read it.
ALGORITHM_MODELS = ["algorithmversion", "algorithmsetting", "algorithmoption", "algorithmmodifier"]
ALGORITHM_ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    BOARD_MEMBER: [("regimens", m, ("view",)) for m in ALGORITHM_MODELS],
    CASE_EDITOR: [("regimens", m, ("view",)) for m in ALGORITHM_MODELS],
    CURATOR: [("regimens", m, ("view", "add", "change", "delete")) for m in ALGORITHM_MODELS],
}
