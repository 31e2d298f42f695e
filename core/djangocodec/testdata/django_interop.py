"""Drives a real Django for cloakroom's interop tests.

Usage: django_interop.py COMMAND ARG   (settings come from the environment:
DJ_SECRET, DJ_DB (a SQLite file, optional), DJ_COOKIE_AGE)
Prints one line of JSON (or a plain string) on stdout.
"""
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY=os.environ["DJ_SECRET"],
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("DJ_DB", ":memory:")}},
    SESSION_COOKIE_AGE=int(os.environ.get("DJ_COOKIE_AGE", "1209600")),
    LOGGING_CONFIG=None,
)
django.setup()

from django.contrib.sessions.backends import db, signed_cookies  # noqa: E402
from django.core.management import call_command  # noqa: E402


def main(cmd, arg):
    if cmd == "migrate":
        call_command("migrate", "sessions", verbosity=0)
        return "ok"
    if cmd == "db-write":
        spec = json.loads(arg)
        s = db.SessionStore()
        s.update(spec["data"])
        if "expiry" in spec:
            s.set_expiry(spec["expiry"])
        s.save()
        return s.session_key
    if cmd == "db-read":
        s = db.SessionStore(session_key=arg)
        data = dict(s.items())
        return json.dumps({"exists": s.exists(arg), "data": data, "expiry_age": s.get_expiry_age()})
    if cmd == "encode":
        return db.SessionStore().encode(json.loads(arg))
    if cmd == "decode":
        return json.dumps(db.SessionStore().decode(arg))
    if cmd == "cookie-write":
        s = signed_cookies.SessionStore()
        s.update(json.loads(arg))
        s.save()
        return s.session_key
    if cmd == "cookie-read":
        s = signed_cookies.SessionStore(session_key=arg)
        return json.dumps(dict(s.items()))
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
