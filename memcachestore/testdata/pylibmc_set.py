"""Sets keys through pylibmc, for TestPylibmcPlacement.

Usage: pylibmc_set.py BEHAVIOURS_JSON SERVER...
Reads one key per line on standard input and sets each to "x" through a
pylibmc client with those behaviours over those servers, then prints the
behaviours pylibmc reports and the versions of pylibmc and libmemcached.
"""
import json
import sys

import pylibmc

behaviours = json.loads(sys.argv[1])
client = pylibmc.Client(sys.argv[2:], behaviors=behaviours)
for line in sys.stdin:
    key = line.strip()
    if key and not client.set(key, "x"):
        sys.exit("pylibmc could not set " + key)
b = client.behaviors
print(json.dumps({"pylibmc": pylibmc.__version__,
                  "libmemcached": pylibmc.libmemcached_version,
                  "hash": b["hash"], "distribution": b["distribution"]}))
