"""`make demo`: a superuser to log in to the admin with, created once."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the demo superuser if missing (DEMO_USERNAME / DEMO_PASSWORD, "
        "default demo/demo) and print the login. For local demos only."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("DEMO_USERNAME", "demo")
        password = os.environ.get("DEMO_PASSWORD", "demo")
        users = get_user_model().objects
        if users.filter(username=username).exists():
            # An existing user keeps the password it has: it may have been changed.
            state = "exists"
        else:
            users.create_superuser(username, email="", password=password)
            state = "created"
        self.stdout.write(
            f"admin login ({state}): /admin/ user {username!r} password "
            f"{password!r}" + (" (unless changed since)" if state == "exists" else "")
        )
