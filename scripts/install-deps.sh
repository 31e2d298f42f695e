#!/usr/bin/env bash
# Installs the system packages the tests use when they are missing:
# memcached (memcachestore tests), chromium (the example app's browser test)
# and python3-django (Django interop tests). Debian/Ubuntu, as root.
set -euo pipefail
need=()
command -v memcached >/dev/null 2>&1 || need+=(memcached)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
/usr/bin/python3 -c 'import django' >/dev/null 2>&1 || need+=(python3-django)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "install-deps: memcached=$(command -v memcached) chromium=$(command -v chromium)"
