#!/usr/bin/env python3
"""Checks an overlay.sh run: meetgraph's verdict from every way of
capturing the overlay must be the verdict of the bridge capture.

    tests/lab/overlay_check.py MEETGRAPH OUT_DIR

Runs `meetgraph analyze --json` on the reference (`bridge-h1`, the plain
capture of h1's cni0) and on the uplinks (VXLAN on UDP 8472) alone, the
uplinks with the bridge, both bridges, and h1's `-i any` (every cross-host
segment four times: veth, cni0, vxlan0 and encapsulated on eth0), and
compares what the analysis concludes: the story (verdict lines, times
removed), the merges (their sides), the clusters before any merge, and the
findings (kind, severity, phase, nodes, addresses). Times and frames are
left out: each capture point sees a segment at its own microsecond and
frame. Also checks the verdict against the servers' own `merged` in
truth.json. Prints one line per capture set; exits 1 on any difference.

The uplinks carry only what crosses the hosts: a finding of the bridge
capture may be missing from a set without a bridge when every packet it
cites (its evidence frames in bridge-h1) is between two pods of one host
(truth.json's `host` of each node; a3's IP belongs to n's host once it was
reused). A finding may be missing from a set without a bridge only when
it cites such a host-local packet (its evidence frames in bridge-h1,
tshark reads their addresses): such a set is reported as agreeing "but
for N host-local findings"; anything else missing, or anything added, is
a difference.
"""
import json
from collections import Counter
import pathlib
import re
import subprocess
import sys

SETS = [
    ("bridge-h1",),
    ("bridge-h1", "bridge-h2"),
    ("uplink-h1",),
    ("uplink-h2",),
    ("uplink-h1", "uplink-h2"),
    ("uplink-h1", "bridge-h1"),
    ("uplink-h1", "uplink-h2", "bridge-h1"),
    ("any-h1",),
]
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def conclusions(mg, out, names):
    files = [f"{n}.pcap.gz" for n in names]
    r = subprocess.run([mg, "analyze", *files, "--json", "-"], cwd=out, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(files)}: exit {r.returncode}: {r.stderr}")
    v = json.loads(r.stdout)
    findings = Counter()
    evidence = {}
    for f in v["findings"]:
        key = (f["kind"], f["severity"], f.get("phase", ""), tuple(sorted(f["nodes"])), tuple(sorted(f["addresses"])))
        findings[key] += 1
        evidence.setdefault(key, []).append([e["frame"] for e in f.get("evidence", [])])
    return {
        "story": [TIME.sub("T", line) for line in v["story"]],
        "merges": [sorted(sorted(s) for s in m["sides"]) for m in v["merges"]],
        "clusters": sorted(sorted(c["nodes"]) for c in v["clusters"]),
        "findings": findings,
        "evidence": evidence,
        "messages": sum(c["messages"] for c in v["captures"]),
    }


def host_local(out, truth, frames):
    """Whether one of these frames of bridge-h1 is between two pods of one
    host (the uplinks never carry it)."""
    if not frames:
        return False
    where = {}  # pod IP -> [(since_ms, host)]
    for name, n in truth["nodes"].items():
        ip = n["where"].split(":")[0]
        since = truth["reuse"]["reused_ms"] if name == "n" else 0
        where.setdefault(ip, []).append((since, n["host"]))
    flt = " or ".join(f"frame.number == {f}" for f in sorted(set(frames)))
    r = subprocess.run(["tshark", "-r", str(out / "bridge-h1.pcap.gz"), "-Y", flt, "-T", "fields",
                        "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst"],
                       capture_output=True, text=True, check=True)
    for line in r.stdout.split("\n"):
        if not line.strip():
            continue
        t, src, dst = line.split("\t")
        ms = float(t) * 1000

        def host(ip):
            return max((s, h) for s, h in where.get(ip, [(0, "?")]) if s <= ms)[1]
        if host(src) == host(dst) != "?":
            return True
    return False


def main():
    mg, out = str(pathlib.Path(sys.argv[1]).resolve()), pathlib.Path(sys.argv[2])
    truth = json.loads((out / "truth.json").read_text())
    ref = conclusions(mg, out, SETS[0])
    bad = 0
    if bool(ref["merges"]) != truth["merged"]:
        print(f"bridge-h1: merges {ref['merges']} but the servers say merged={truth['merged']}")
        bad += 1
    for names in SETS:
        got = conclusions(mg, out, names)
        diff = [k for k in ("story", "merges", "clusters") if got[k] != ref[k]]
        missing = ref["findings"] - got["findings"]
        added = got["findings"] - ref["findings"]
        local = Counter()
        if not any(n.startswith("bridge") or n.startswith("any") for n in names):
            # As many instances of the finding citing a host-local packet.
            local = Counter({k: min(c, sum(host_local(out, truth, ev) for ev in ref["evidence"][k]))
                             for k, c in missing.items()})
        if added or missing - local:
            diff.append("findings")
        label = " + ".join(names)
        verdict = "merged" if got["merges"] else "no merge"
        note = "same as bridge-h1" if not diff else "DIFFERS: " + ", ".join(diff)
        if not diff and local:
            note += f" but for {sum(local.values())} host-local finding(s) ({', '.join(sorted({k[0] for k in local}))})"
        print(f"{label:36} {got['messages']:5} messages  {verdict:9} {sum(got['findings'].values()):3} findings  {note}")
        for k in diff:
            if k == "findings":
                print(f"  missing: {dict(missing - local)}\n  added: {dict(added)}")
            else:
                print(f"  {k}: bridge-h1 {ref[k]}\n  {k}: {label} {got[k]}")
        bad += bool(diff)
    print(f"{truth['server']}: servers merged={truth['merged']}; {len(SETS) - bad} of {len(SETS)} capture sets agree")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
