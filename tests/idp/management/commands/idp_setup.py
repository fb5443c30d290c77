"""Prepare the test provider: a signing key, one confidential client, users with groups.

    idp_setup --client-id ID --client-secret S --redirect-uri URL [--redirect-uri URL ...]
              --user NAME:PASSWORD:GROUP,GROUP [--user ...]

Run again to add redirect URIs or change a user's groups.
"""

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--user", action="append", default=[])

    def handle(self, *args, client_id, client_secret, redirect_uri, user, **options):
        if not RSAKey.objects.exists():
            call_command("creatersakey", stdout=self.stdout)
        client, _ = Client.objects.get_or_create(
            client_id=client_id,
            defaults={"name": "mmboard", "client_type": "confidential", "jwt_alg": "RS256"},
        )
        client.client_secret = client_secret
        client.require_consent = False
        client.redirect_uris = sorted(set(client.redirect_uris) | set(redirect_uri))
        client.save()
        client.response_types.add(ResponseType.objects.get(value="code"))
        for spec in user:
            username, password, groups = spec.split(":", 2)
            account, _ = User.objects.get_or_create(username=username)
            account.set_password(password)
            account.email = f"{username}@hospital.example"
            account.first_name = username.split(".")[-1].title()
            account.save()
            account.groups.set(
                [Group.objects.get_or_create(name=name)[0] for name in groups.split(",") if name]
            )
