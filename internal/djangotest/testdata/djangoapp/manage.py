#!/usr/bin/env python3
"""The Django side of internal/djangotest's HTTP interop matrix.

Run with Debian's Django (/usr/bin/python3); every setting comes from the
environment, see interop/settings.py.
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
