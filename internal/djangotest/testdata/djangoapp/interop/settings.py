"""Settings of the interop app, all from the environment.

DJ_SECRET          SECRET_KEY (required)
DJ_ENGINE          db, cached_db, cache or signed_cookies (SESSION_ENGINE)
DJ_COOKIE_AGE      SESSION_COOKIE_AGE in seconds
DJ_DB_ENGINE       sqlite3, postgresql or mysql
DJ_DB_NAME         the database (a file for sqlite3)
DJ_DB_HOST, DJ_DB_PORT, DJ_DB_USER, DJ_DB_PASSWORD
DJ_CACHE_LOCATION  host:port of memcached; unset: no memcached cache
DJ_KEY_PREFIX, DJ_CACHE_VERSION  the cache's KEY_PREFIX and VERSION
"""
import os

env = os.environ.get

SECRET_KEY = os.environ["DJ_SECRET"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "interop.urls"
WSGI_APPLICATION = None
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

SESSION_ENGINE = "django.contrib.sessions.backends." + env("DJ_ENGINE", "db")
SESSION_COOKIE_AGE = int(env("DJ_COOKIE_AGE", "1209600"))

_db = {
    "ENGINE": "django.db.backends." + env("DJ_DB_ENGINE", "sqlite3"),
    "NAME": os.environ["DJ_DB_NAME"],
    "HOST": env("DJ_DB_HOST", ""),
    "PORT": env("DJ_DB_PORT", ""),
    "USER": env("DJ_DB_USER", ""),
    "PASSWORD": env("DJ_DB_PASSWORD", ""),
}
if env("DJ_DB_ENGINE") == "mysql":
    _db["OPTIONS"] = {"charset": "utf8mb4"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

if env("DJ_CACHE_LOCATION"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyLibMCCache",
            "LOCATION": env("DJ_CACHE_LOCATION"),
            "KEY_PREFIX": env("DJ_KEY_PREFIX", ""),
            "VERSION": int(env("DJ_CACHE_VERSION", "1")),
        }
    }

# The test logs users in a few dozen times: a fast hasher keeps that cheap.
# The session auth hash is an HMAC of the stored hash whatever the hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Errors (500s with their tracebacks, suspicious sessions) go to stderr,
# which the Go test prints when a cell fails.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
