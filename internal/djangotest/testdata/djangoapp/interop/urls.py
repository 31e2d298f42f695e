from django.urls import path

from . import views

urlpatterns = [
    path(name, getattr(views, name.replace("-", "_")))
    for name in ["state", "set", "delete", "cycle", "flush", "login", "logout", "expiry", "setup-user"]
]
