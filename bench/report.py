"""Turns the outputs of bench/run.sh (the files in bench/results/) into
bench/RESULTS.md (Markdown on stdout).

    python3 report.py results > RESULTS.md

Inputs, each optional: callgrind.txt (bench/callgrind.sh), serial.txt and
untouched.txt (go test -bench BenchmarkSessions), parallel.txt
(BenchmarkParallel), load.txt (go run ./load), machine.txt (run.sh).
"""
import os
import re
import statistics
import sys

out = sys.argv[1]


def path(name):
    p = os.path.join(out, name)
    return p if os.path.exists(p) else None


def parse_bench(p):
    """name -> (ns/op, B/op, allocs/op, {loads/op, saves/op}), medians."""
    rows = {}
    for line in open(p):
        m = re.match(r'Benchmark\w+/(\S+?)(?:-\d+)?\s+\d+\s+(.*)', line)
        if not m:
            continue
        vals = dict((unit, float(v)) for v, unit in re.findall(r'([\d.]+) (\S+)', m.group(2)))
        rows.setdefault(m.group(1), []).append(vals)

    def med(v, k):
        return statistics.median(r[k] for r in v) if k in v[0] else None
    return {k: (med(v, 'ns/op'), med(v, 'B/op'), med(v, 'allocs/op'),
                {u: med(v, u) for u in ('loads/op', 'saves/op') if u in v[0]}) for k, v in rows.items()}


def parse_callgrind(p):
    """(metadata dict, [(name, n1, n2, instructions/request)])."""
    meta, rows = {}, []
    for line in open(p):
        line = line.rstrip('\n')
        if line.startswith('# '):
            k, _, v = line[2:].partition(': ')
            meta[k] = v
        elif line.strip():
            f = line.split('\t')
            rows.append((f[0], int(f[1]), int(f[2]), float(f[5])))
    return meta, rows


def split(name):
    """gin/gin-contrib/sessions/cookie/read -> (gin, gin-contrib/sessions, cookie, read)."""
    parts = name.split('/')
    return parts[0], '/'.join(parts[1:-2]), parts[-2], parts[-1]


# Store kinds a peer is compared within: the three SQLite stores are one kind.
KIND = {'gorm': 'SQL (SQLite)', 'sqlite': 'SQL (SQLite)'}


def kind(k):
    return KIND.get(k, k)


def is_peer(lib):
    return lib not in ('raw', 'cloakroom')


def best_peers(values):
    """For each (framework, workload, store kind), the cheapest peer: name -> (peer name, value)."""
    best = {}
    for name, v in values.items():
        fw, lib, k, wl = split(name)
        if not is_peer(lib) or v is None:
            continue
        key = (fw, wl, kind(k))
        if key not in best or v < best[key][1]:
            best[key] = (name, v)
    return best


def ratio(a, b):
    return f'{a / b:.2f}' if a is not None and b else ''


def fmt(x, spec='g'):
    return '' if x is None else format(x, spec)


def short(name):
    fw, lib, k, _ = split(name)
    return f'{lib}/{k}'


machine = open(path('machine.txt')).read().strip() if path('machine.txt') else ''
serial = parse_bench(path('serial.txt')) if path('serial.txt') else {}
if path('untouched.txt'):
    serial.update(parse_bench(path('untouched.txt')))  # the same keys, timed with more iterations

print('# Benchmark results\n')
print('Written by `bash bench/run.sh` (bench/report.py, from the raw outputs in bench/results/). '
      'Every request is served in-process through the router with a fresh request copy; the raw handlers '
      'get the same kind of request and cookie, so the ratio to the raw handler of the same framework is '
      'the cost of the session layer. See bench/README.md for what each workload does and how to read this.\n')
if machine:
    print(machine + '\n')

print('Sessions: *tiny* is a cart of three small ints (`{"cart":[0,1,2]}`, 14 bytes of JSON in cloakroom); '
      '*realistic* is a signed-in user name and a 20-item cart (141 bytes of JSON; cloakroom\'s cookie store '
      'compresses from 192 bytes, so not this one); *large* has an 80-item cart (441 bytes of JSON, compressed '
      'by cloakroom\'s cookie store). The `-realistic` and `-large` workloads use those sessions; `write-realistic` '
      'and `write-large` move the first cart item to the end (the session changes, its size does not).\n')

if path('callgrind.txt'):
    meta, crows = parse_callgrind(path('callgrind.txt'))
    instr = {n: v for n, _, _, v in crows}
    raw = {fw: instr.get(f'{fw}/raw/-/untouched') for fw in ('gin', 'echo')}
    best = best_peers(instr)
    print('## Instructions per request (callgrind)\n')
    print(f'Measured {meta.get("date", "?")} at commit {meta.get("commit", "?")}, {meta.get("go", "")}, '
          f'{meta.get("valgrind", "")}, {meta.get("cpu", "")}; the run took {meta.get("seconds", "?")} s.\n')
    print('Method: each benchmark runs twice under callgrind, with N1 and N2 requests '
          '(`-test.benchtime N1x`, then `N2x`); instructions per request = (I(N2) − I(N1)) / (N2 − N1), '
          'which cancels process start-up, store creation and the priming requests, identical in both runs. '
          'Instructions are counted in the benchmark process only (not in memcached, not in the kernel), with '
          '`GOGC=off` (allocation is counted, garbage collection is not) and `GODEBUG=asyncpreemptoff=1`. '
          'Command per run:\n')
    print('    ' + meta.get('command', '') + '\n')
    print('Instruction counts barely move with machine load, unlike the wall times beside them (from the '
          'serial table below, medians). **× raw**: over the raw handler of the same framework in the same run. '
          '**× best peer**: over the cheapest other library on the same framework, workload and store kind '
          '(below 1: cloakroom executes fewer instructions).\n')
    print('| framework / library / store | workload | N1 / N2 | instructions/request | × raw | best peer | × best peer | ns/op | ns × raw | B/op | allocs/op |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    wraw = {fw: serial.get(f'{fw}/raw/-/untouched') for fw in ('gin', 'echo')}
    for name, n1, n2, v in crows:
        fw, lib, k, wl = split(name)
        r = raw.get(fw)
        bp = best.get((fw, wl, kind(k)))
        peer, xpeer = '', ''
        if bp and not is_peer(lib) and lib != 'raw':
            peer, xpeer = f'{short(bp[0])} ({bp[1]:,.0f})', ratio(v, bp[1])
        s = serial.get(name)
        ns, b, a = (s[0], s[1], s[2]) if s else (None, None, None)
        wr = wraw.get(fw)
        print(f'| {fw}/{lib}/{k} | {wl} | {n1:,} / {n2:,} | {v:,.0f} | {ratio(v, r)} | {peer} | {xpeer} | '
              f'{fmt(ns, ".0f")} | {ratio(ns, wr[0] if wr else None)} | {fmt(b, ".0f")} | {fmt(a, ".0f")} |')
    print()

load = ''
if path('load-average.txt'):
    load = 'Load average (1, 5, 15 min) when the wall-time runs began and ended: ' + \
        '; '.join(l.strip() for l in open(path('load-average.txt')) if l.strip()) + \
        ' (2 cores: above 2, other work competed for them). '
for title, name in (('Wall time, serial', 'serial.txt'), ('Wall time, parallel, 10,000 clients', 'parallel.txt')):
    if not path(name):
        continue
    rows = serial if name == 'serial.txt' else parse_bench(path(name))
    raw = {fw: rows.get(f'{fw}/raw/-/untouched') for fw in ('gin', 'echo')}
    best = best_peers({n: r[0] for n, r in rows.items()})
    print(f'## {title}\n')
    if name == 'serial.txt':
        print('Medians of several runs: the untouched workloads in 5 interleaved rounds of 100,000 requests, '
              'each contender in a process of its own once per round (so none is always timed first or in a '
              'busier moment); the others 3 runs of 2,000 in one process. ' + load +
              'Compare within a table, not across runs; instruction counts (above) are the steadier measure. '
              '× best peer as above, by ns/op.\n')
    print('| framework / library / store | workload | ns/op | × raw | × best peer | B/op | allocs/op | store loads/op | store saves/op |')
    print('|---|---|---|---|---|---|---|---|---|')
    for n, (ns, b, a, extra) in rows.items():
        fw, lib, k, wl = split(n)
        r = raw.get(fw)
        bp = best.get((fw, wl, kind(k)))
        xpeer = ratio(ns, bp[1]) if bp and lib == 'cloakroom' else ''
        print(f'| {fw}/{lib}/{k} | {wl} | {ns:.0f} | {ratio(ns, r[0] if r else None)} | {xpeer} | {b:.0f} | {a:.0f} | '
              f'{fmt(extra.get("loads/op"))} | {fmt(extra.get("saves/op"))} |')
    print()

if path('load.txt'):
    print('## Load test (the example app over loopback)\n')
    print(open(path('load.txt')).read())

if path('scale.md'):
    # The scale section (issue 20): gormstore's clear at 1M and 10M rows and
    # the other stores at scale, written by hand from their benchmarks'
    # outputs, with the commands that reproduce them.
    print(open(path('scale.md')).read().rstrip('\n') + '\n')
