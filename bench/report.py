"""Turns the outputs of bench/run.sh into bench/RESULTS.md (Markdown on stdout)."""
import re, sys, statistics, subprocess, platform, datetime, os
out = sys.argv[1]
def parse(path):
    rows = {}
    for line in open(path):
        m = re.match(r'Benchmark\w+/(\S+?)-\d+\s+\d+\s+(.*)', line)
        if not m: continue
        vals = dict((unit, float(v)) for v, unit in re.findall(r'([\d.]+) (\S+)', m.group(2)))
        rows.setdefault(m.group(1), []).append(vals)
    med = lambda v, k: statistics.median(r[k] for r in v) if k in v[0] else None
    return {k: (med(v, 'ns/op'), med(v, 'B/op'), med(v, 'allocs/op'), {u: med(v, u) for u in ('loads/op', 'saves/op') if u in v[0]}) for k, v in rows.items()}
cpu = next((l.split(':',1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
gov = subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.strip()
print('# Benchmark results\n')
print(f'Measured {datetime.date.today()} on {cpu}, {os.cpu_count()} cores, {gov}, by `bash bench/run.sh`.')
print('Medians of several runs (the untouched workload: 5 runs of 100,000 requests, the others: 3 of 2,000); each request is served in-process through the router with a fresh request copy (the raw handlers get the same cookie and copy), so the ratio to the raw handler of the same framework is the cost of the session layer. The machine was not otherwise idle: compare within a table, not across runs.\n')
for title, path in (('Serial', 'serial.txt'), ('Parallel, 10,000 clients', 'parallel.txt')):
    rows = parse(os.path.join(out, path))
    untouched = os.path.join(out, 'untouched.txt')
    if path == 'serial.txt' and os.path.exists(untouched):
        rows.update(parse(untouched))  # the same keys, timed with more iterations
    raw = {fw: rows.get(f'{fw}/raw/-/untouched') for fw in ('gin', 'echo')}
    print(f'## {title}\n')
    print('| framework / library / store | workload | ns/op | × raw | B/op | allocs/op | store loads/op | store saves/op |')
    print('|---|---|---|---|---|---|---|---|')
    for name, (ns, b, a, extra) in rows.items():
        fw = name.split('/')[0]
        lib, wl = name.rsplit('/', 1)
        r = raw.get(fw)
        ratio = f'{ns / r[0]:.2f}' if r else ''
        fmt = lambda x: '' if x is None else f'{x:g}'
        print(f'| {lib} | {wl} | {ns:.0f} | {ratio} | {b:.0f} | {a:.0f} | {fmt(extra.get("loads/op"))} | {fmt(extra.get("saves/op"))} |')
    print()
print('## Load test (the example app over loopback)\n')
print(open(os.path.join(out, 'load.txt')).read())
