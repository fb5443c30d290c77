"""Create (or reset) the local superuser for `make run` and print its password.

A password is generated each time; none is ever written in code or docs.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from regimens.roles import ROLES


class Command(BaseCommand):
    help = "Create or reset the local administrator account and print a fresh password."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="Where the local server listens (make run passes it).",
        )

    def handle(self, *args, username: str, url: str, **options):
        password = secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        user.groups.add(*Group.objects.filter(name__in=ROLES))
        verb = "Created" if created else "Reset the password of"
        self.stdout.write(self.style.SUCCESS(f"{verb} the local account. Log in at {url}"))
        self.stdout.write(f"    username: {username}\n    password: {password}")
