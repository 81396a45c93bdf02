#!/usr/bin/env python3
"""Every output of a meetgraph binary on every sample, into OUT/<sample>/:
report (default and --all), --json (threads and --threads 1), --html,
--chart (SVG and PNG), --dot, --mermaid, dump (text and jsonl, --stats),
events, watch -r (text and --json-events), and nodes --as for up to 12
nodes at the end and at the first merge. Each file ends with stderr and the
exit status. For refactors that must not change any output:

    tests/lab/outputs_snapshot.py OLD_BINARY samples /tmp/before
    tests/lab/outputs_snapshot.py target/release/meetgraph samples /tmp/after
    diff -r /tmp/before /tmp/after

Usage: outputs_snapshot.py BINARY SAMPLES_DIR OUT"""
import json, os, subprocess, sys, concurrent.futures as cf
binary, samples, out = sys.argv[1:4]
binary = os.path.abspath(binary)

def run(d, name, args):
    p = subprocess.run([binary] + args, cwd=d, capture_output=True)
    with open(os.path.join(out, os.path.basename(d), name), 'wb') as f:
        f.write(p.stdout)
        f.write(b'\n--- stderr ---\n' + p.stderr + b'\n--- exit %d\n' % p.returncode)

def sample(d):
    caps = sorted(f for f in os.listdir(d) if f.endswith(('.pcap.gz', '.pcapng.gz', '.pcap')))
    if not caps:
        return
    o = os.path.join(out, os.path.basename(d)); os.makedirs(o, exist_ok=True)
    run(d, 'report.txt', ['analyze', '--no-progress'] + caps)
    run(d, 'report-all.txt', ['analyze', '--no-progress', '--all'] + caps)
    run(d, 'threads1.json', ['analyze', '--no-progress', '--threads', '1', '--json', '-'] + caps)
    run(d, 'analysis.json', ['analyze', '--no-progress', '--json', '-'] + caps)
    run(d, 'html.html', ['analyze', '--no-progress', '--html', '-'] + caps)
    run(d, 'chart.svg', ['analyze', '--no-progress', '--chart', '-'] + caps)
    run(d, 'dot.dot', ['analyze', '--no-progress', '--dot', '-'] + caps)
    run(d, 'mermaid.mmd', ['analyze', '--no-progress', '--mermaid', '-'] + caps)
    png = os.path.join(o, 'chart.png')
    run(d, 'chart-png.log', ['analyze', '--no-progress', '--chart', png] + caps)
    run(d, 'dump.txt', ['dump', '--no-progress', '--stats'] + caps)
    run(d, 'dump.jsonl', ['dump', '--no-progress', '--stats', '--format', 'jsonl'] + caps)
    run(d, 'events.jsonl', ['events', '--no-progress'] + caps)
    wargs = ['watch']
    for c in caps: wargs += ['-r', c]
    run(d, 'watch.txt', wargs)
    run(d, 'watch-events.jsonl', wargs + ['--json-events', '-'])
    try:
        raw = open(os.path.join(o, 'analysis.json'), 'rb').read().split(b'\n--- stderr ---')[0]
        a = json.loads(raw)
    except ValueError:
        return
    times = [None] + [str(m['ts_us']) for m in a.get('merges', [])[:1]]
    for n in a.get('nodes', [])[:12]:
        nid = n.get('id') or n.get('node')
        if not nid or '?' in nid: continue
        for t in times:
            args = ['nodes', '--no-progress', '--as', nid] + (['--at', t] if t else []) + caps
            run(d, 'nodes-%s-%s.txt' % (nid[:8], t or 'end'), args)

dirs = sorted(os.path.join(samples, s) for s in os.listdir(samples) if os.path.isdir(os.path.join(samples, s)))
with cf.ThreadPoolExecutor(2) as ex:
    list(ex.map(sample, dirs))
