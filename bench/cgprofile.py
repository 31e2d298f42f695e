"""Where one request's instructions go: the per-function self costs of two
callgrind profiles of the same benchmark (N1 and N2 requests), subtracted and
divided by N2-N1, so start-up and setup cancel as in bench/callgrind.sh.

    python3 cgprofile.py run.n1.callgrind run.n2.callgrind N1 N2 [TOP]
    python3 cgprofile.py A.n1 A.n2 N1 N2 TOP B.n1 B.n2 M1 M2   # A minus B per request

The second form subtracts another benchmark's per-request costs (say the raw
handler's) to show where a session layer's extra instructions go.

Prints the top functions by self cost and the costs summed per Go package.
Self (exclusive) costs, not inclusive ones: callgrind follows calls by the
machine stack, and the Go runtime's stack switches (systemstack, mcall,
morestack) make its inclusive costs meaningless (shares over 100%).
"""
import re
import subprocess
import sys
from collections import defaultdict

f1, f2, n1, n2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
LINE = re.compile(r'^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$')


def self_costs(path):
    """function -> self instructions, summed over the files its code came from."""
    out = subprocess.run(['callgrind_annotate', '--inclusive=no', '--auto=no', '--threshold=100', path],
                         capture_output=True, text=True, check=True).stdout
    costs, total = defaultdict(int), None
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        n, what = int(m.group(1).replace(',', '')), m.group(2)
        if what.startswith('PROGRAM TOTALS'):
            total = n
            continue
        what = re.sub(r' \[[^]]*\]$', '', what)  # the object file
        fn = what.split(':', 1)[1] if ':' in what else what  # file:function
        fn = re.sub(r"'\d+$", '', fn)  # callgrind's recursion marks
        costs[fn] += n
    return costs, total


def package(fn):
    """github.com/a/b/core.(*M).f -> github.com/a/b/core; memeqbody -> runtime (assembly)."""
    slash = fn.rfind('/')
    dot = fn.find('.', slash + 1)
    if dot < 0:
        return 'runtime'
    return fn[:dot]


def group(pkg):
    if pkg == 'runtime' or pkg.startswith('internal/runtime') or pkg in ('internal/chacha8rand', 'internal/bytealg'):
        return 'Go runtime (' + pkg + ')' if pkg != 'runtime' else 'Go runtime'
    return pkg


def per_request(f1, f2, n1, n2):
    c1, t1 = self_costs(f1)
    c2, t2 = self_costs(f2)
    d = n2 - n1
    return {fn: (c2.get(fn, 0) - c1.get(fn, 0)) / d for fn in set(c1) | set(c2)}, (t2 - t1) / d


per, total = per_request(f1, f2, n1, n2)
print(f'{total:,.0f} instructions per request ((I(N2) - I(N1)) / (N2 - N1), N1={n1}, N2={n2})\n')
if len(sys.argv) > 6:
    base, btotal = per_request(sys.argv[6], sys.argv[7], int(sys.argv[8]), int(sys.argv[9]))
    per = {fn: per.get(fn, 0) - base.get(fn, 0) for fn in set(per) | set(base)}
    total -= btotal
    print(f'minus {btotal:,.0f} for {sys.argv[6]}: {total:,.0f} more per request; shares below are of the difference\n')
print(f'Top {top} functions by self instructions per request:\n')
print('| function | instructions/request | share |')
print('|---|---|---|')
for fn, v in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
    print(f'| `{fn}` | {v:,.0f} | {100 * v / total:.1f}% |')
bypkg = defaultdict(float)
for fn, v in per.items():
    bypkg[group(package(fn))] += v
print('\nBy package (self instructions of its functions, inlined code counted where it was inlined):\n')
print('| package | instructions/request | share |')
print('|---|---|---|')
for p, v in sorted(bypkg.items(), key=lambda kv: -kv[1]):
    if abs(v) / total < 0.01:
        continue
    print(f'| {p} | {v:,.0f} | {100 * v / total:.1f}% |')
