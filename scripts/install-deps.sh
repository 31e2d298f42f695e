#!/usr/bin/env bash
# Installs the system packages the tests use when they are missing:
# memcached (memcachestore tests), chromium (the example app's browser test),
# python3-django (Django interop tests) and the Django drivers the HTTP interop
# matrix (internal/djangotest) uses: python3-psycopg2 (PostgreSQL),
# python3-mysqldb (MariaDB) and python3-pylibmc (memcached), and
# redis-server with redis-cli (redisstore tests, which start their own
# servers and Cluster). Debian/Ubuntu, as root.
set -euo pipefail
need=()
command -v memcached >/dev/null 2>&1 || need+=(memcached)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
/usr/bin/python3 -c 'import django' >/dev/null 2>&1 || need+=(python3-django)
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
/usr/bin/python3 -c 'import MySQLdb' >/dev/null 2>&1 || need+=(python3-mysqldb)
/usr/bin/python3 -c 'import pylibmc' >/dev/null 2>&1 || need+=(python3-pylibmc)
{ command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "install-deps: memcached=$(command -v memcached) chromium=$(command -v chromium)"
echo "install-deps: redis-server=$(command -v redis-server) redis-cli=$(command -v redis-cli)"
