"""Tiny JSON endpoints over request.session, all GET.

Each answers with the state after its operation: the session's items, its
expiry age and browser-close flag, its key and the logged-in user.
"""
import datetime
import json

from django.contrib import auth
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse


def state(request):
    s = request.session
    user = request.user
    return JsonResponse(
        {
            "items": dict(s.items()),
            "expiry_age": s.get_expiry_age(),
            "browser_close": s.get_expire_at_browser_close(),
            "key": s.session_key or "",
            "auth": user.is_authenticated,
            "user": user.get_username() if user.is_authenticated else "",
            "user_id": str(user.pk) if user.is_authenticated else "",
        },
        encoder=DjangoJSONEncoder,
    )


def set(request):  # noqa: A001 - the endpoint's name
    request.session[request.GET["k"]] = json.loads(request.GET["v"])
    return state(request)


def delete(request):
    del request.session[request.GET["k"]]
    return state(request)


def cycle(request):
    request.session.cycle_key()
    return state(request)


def flush(request):
    request.session.flush()
    return state(request)


def login(request):
    user = auth.authenticate(request, username=request.GET["u"], password=request.GET["p"])
    if user is None:
        return JsonResponse({"error": "bad credentials"}, status=403)
    auth.login(request, user)
    return state(request)


def logout(request):
    auth.logout(request)
    return state(request)


def expiry(request):
    if "at" in request.GET:
        request.session.set_expiry(datetime.datetime.fromisoformat(request.GET["at"]))
    else:
        request.session.set_expiry(int(request.GET["seconds"]))
    return state(request)


def setup_user(request):
    user = User.objects.create_user(request.GET["u"], password=request.GET["p"])
    return JsonResponse({"id": str(user.pk)})
