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
truth.json.

Capture points see different packets, and that alone may change findings:
- a finding may be missing from a set without a bridge when it cites a
  packet between two pods of one host (the uplinks never carry those);
- a set with `bridge-h2` may add a finding that cites a packet between two
  pods of h2 (bridge-h1 never sees those).
(tshark reads the addresses of the cited frames; truth.json gives each
node's host, a3's IP belonging to n's host once it was reused.) Such sets
agree "but for N host-local findings".

Decapsulation itself is checked apart: every set of uplinks is also
analysed as its plain twin (the same packets with the outer Ethernet, IP,
UDP and VXLAN headers cut off by this script, same file names) and the
two JSON outputs must be identical. A difference from bridge-h1 that the
plain twin shows too comes from combining several capture points, not
from decapsulation: it is printed, and not counted as a failure.

Prints one line per capture set; exits 1 when a set differs otherwise.
"""
import gzip
import json
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
from collections import Counter

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


def analyze(mg, cwd, names):
    files = [f"{n}.pcap.gz" for n in names]
    r = subprocess.run([mg, "analyze", *files, "--json", "-"], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(files)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def conclusions(text):
    v = json.loads(text)
    findings = Counter()
    evidence = {}
    for f in v["findings"]:
        key = (f["kind"], f["severity"], f.get("phase", ""), tuple(sorted(f["nodes"])), tuple(sorted(f["addresses"])))
        findings[key] += 1
        evidence.setdefault(key, []).append([(e["capture"], e["frame"]) for e in f.get("evidence", [])])
    return {
        "story": [TIME.sub("T", line) for line in v["story"]],
        "merges": [sorted(sorted(s) for s in m["sides"]) for m in v["merges"]],
        "clusters": sorted(sorted(c["nodes"]) for c in v["clusters"]),
        "findings": findings,
        "evidence": evidence,
        "messages": sum(c["messages"] for c in v["captures"]),
    }


def local_hosts(out, truth, cited):
    """The hosts two of whose pods exchanged one of these (capture, frame)
    packets."""
    where = {}  # pod IP -> [(since_ms, host)]
    for name, n in truth["nodes"].items():
        since = truth["reuse"]["reused_ms"] if name == "n" else 0
        where.setdefault(n["where"].split(":")[0], []).append((since, n["host"]))
    hosts = set()
    by_capture = {}
    for cap, frame in cited:
        by_capture.setdefault(cap, set()).add(frame)
    for cap, frames in by_capture.items():
        flt = " or ".join(f"frame.number == {f}" for f in sorted(frames))
        r = subprocess.run(["tshark", "-r", str(out / cap), "-Y", flt, "-T", "fields",
                            "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst"],
                           capture_output=True, text=True, check=True)
        for line in filter(str.strip, r.stdout.split("\n")):
            t, src, dst = line.split("\t")[:3]
            ms = float(t) * 1000

            def host(ip):
                return max((s, h) for s, h in where.get(ip.split(",")[-1], [(0, "?")]) if s <= ms)[1]
            if host(src) == host(dst) != "?":
                hosts.add(host(src))
    return hosts


def excused(out, truth, diff, evidence, allowed):
    """The instances of `diff` that cite a packet local to a host of `allowed`."""
    return Counter({k: min(c, sum(bool(local_hosts(out, truth, ev) & allowed) for ev in evidence[k]))
                    for k, c in diff.items()})


def plain_twin(out, names, tmp):
    """Writes the uplink captures with their VXLAN headers cut off."""
    for n in names:
        raw = gzip.open(out / f"{n}.pcap.gz").read()
        if raw[:4] != b"\xd4\xc3\xb2\xa1":
            raise SystemExit(f"{n}: expected a little-endian microsecond pcap")
        w = bytearray(raw[:20] + struct.pack("<I", 1))
        at = 24
        while at + 16 <= len(raw):
            sec, usec, incl, orig = struct.unpack("<IIII", raw[at:at + 16])
            d = raw[at + 16:at + 16 + incl]
            cut = 14 + (d[14] & 0x0f) * 4 + 8 + 8  # Ethernet, IPv4, UDP, VXLAN
            w += struct.pack("<IIII", sec, usec, incl - cut, orig - cut) + d[cut:]
            at += 16 + incl
        with gzip.open(tmp / f"{n}.pcap.gz", "wb", compresslevel=1) as f:
            f.write(bytes(w))


def main():
    mg, out = str(pathlib.Path(sys.argv[1]).resolve()), pathlib.Path(sys.argv[2])
    truth = json.loads((out / "truth.json").read_text())
    ref = conclusions(analyze(mg, out, SETS[0]))
    bad = 0
    if bool(ref["merges"]) != truth["merged"]:
        print(f"bridge-h1: merges {ref['merges']} but the servers say merged={truth['merged']}")
        bad += 1
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="overlay-check-"))
    for names in SETS:
        text = analyze(mg, out, names)
        got = conclusions(text)
        uplinks_only = all(n.startswith("uplink") for n in names)
        twin_same = twin = None
        if uplinks_only:
            plain_twin(out, names, tmp)
            twin_text = analyze(mg, tmp, names)
            twin_same = twin_text == text
            twin = conclusions(twin_text)
        diff = [k for k in ("story", "merges", "clusters") if got[k] != ref[k]]
        missing = ref["findings"] - got["findings"]
        added = got["findings"] - ref["findings"]
        local = Counter()
        if uplinks_only:
            local += excused(out, truth, missing, ref["evidence"], {"h1", "h2"})
        if "bridge-h2" in names:
            local += excused(out, truth, added, got["evidence"], {"h2"})
        rest_missing, rest_added = missing - local, added - local
        if rest_missing or rest_added:
            diff.append("findings")
        label = " + ".join(names)
        verdict = "merged" if got["merges"] else "no merge"
        note = "same as bridge-h1" if not diff else "DIFFERS from bridge-h1: " + ", ".join(diff)
        if local:
            note += f" but for {sum(local.values())} host-local finding(s) ({', '.join(sorted({k[0] for k in local}))})"
        vantage_only = False
        if uplinks_only:
            note += "; plain twin identical" if twin_same else "; PLAIN TWIN DIFFERS (decapsulation)"
            vantage_only = bool(diff) and all(got[k] == twin[k] for k in ("story", "merges", "clusters", "findings"))
            if vantage_only:
                note += ", which shows the same difference: several capture points, not decapsulation"
        print(f"{label:36} {got['messages']:5} messages  {verdict:9} {sum(got['findings'].values()):3} findings  {note}")
        if "findings" in diff:
            print(f"    missing: {dict(rest_missing)}\n    added: {dict(rest_added)}")
        for k in diff:
            if k != "findings":
                print(f"    {k}: bridge-h1 {ref[k]}\n    {k}: {label} {got[k]}")
        bad += (bool(diff) and not vantage_only) or twin_same is False
    print(f"{truth['server']}: servers merged={truth['merged']}; {len(SETS) - bad} of {len(SETS)} capture sets agree")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
