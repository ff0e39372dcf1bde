#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that run as lean processes: only the options and feed apps are loaded.
FEED_ONLY_COMMANDS = {"run_feed", "refresh_symbols", "feed_health"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")
    if len(sys.argv) > 1 and sys.argv[1] in FEED_ONLY_COMMANDS:
        os.environ.setdefault("TRACKER_FEED_ONLY", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
