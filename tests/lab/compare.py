#!/usr/bin/env python3
"""What the servers did against what meetgraph says, per lab run.

usage: compare.py MEETGRAPH OUT_MD DIR...

Each DIR is a lab output or a sample (truth.json, nodes-after-*.txt, the
captures *.pcap.gz). The servers' verdict comes from their own
`CLUSTER NODES` at the end: a node of cluster X that lists a node of
cluster Y as a trusted member (no handshake, noaddr or fail flag) means the
clusters merged. meetgraph's verdict is `analyze --json`: a merge, and its
sides. Writes a Markdown table to OUT_MD and exits 1 on any disagreement.
"""
import glob
import json
import os
import subprocess
import sys


def servers_verdict(d, truth):
    cluster_of = {n["id"]: n.get("cluster") for n in truth["nodes"].values()}
    merged = False
    seen = 0
    for f in sorted(glob.glob(os.path.join(d, "nodes-after-*.txt"))):
        lines = [l.split() for l in open(f) if l.strip()]
        me = next((l for l in lines if "myself" in l[2]), None)
        if not me:
            continue
        seen += 1
        mine = cluster_of.get(me[0])
        for l in lines:
            other = cluster_of.get(l[0])
            flags = l[2].split(",")
            if other and mine and other != mine and "none" not in (mine, other) \
                    and not {"handshake", "noaddr", "fail"} & set(flags):
                merged = True
    return merged if seen else None


def meetgraph_verdict(mg, d):
    caps = sorted(glob.glob(os.path.join(d, "*.pcap.gz")))
    out = subprocess.run([mg, "analyze", *caps, "--json", "-"], capture_output=True, text=True)
    if out.returncode not in (0, 1, 3):
        return None, out.stderr.strip()
    a = json.loads(out.stdout)
    kinds = sorted({f["kind"] for f in a["findings"] if f["severity"] != "info"})
    return a, ", ".join(kinds)


def main():
    mg, out_md, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows, bad = [], 0
    for d in dirs:
        truth_path = os.path.join(d, "truth.json")
        if not os.path.exists(truth_path):
            continue
        truth = json.load(open(truth_path))
        server = truth.get("server", "?")
        server = server.replace("redis_version:", "Redis ").replace("valkey_version:", "Valkey ")
        srv = servers_verdict(d, truth)
        a, kinds = meetgraph_verdict(mg, d)
        if a is None:
            rows.append((os.path.basename(d.rstrip("/")), server, srv, "error: " + kinds, "", "NO"))
            bad += 1
            continue
        mg_merged = bool(a["merges"])
        sides = ""
        if mg_merged:
            names = {n["id"]: k for k, n in truth["nodes"].items()}
            sides = " vs ".join("{" + " ".join(sorted(names.get(x, x[:8]) for x in s)) + "}" for s in a["merges"][0]["sides"])
        verdict = ("merged " + sides) if mg_merged else "no merge"
        if not a["coverage"]["complete"] and not mg_merged:
            # Told, not guessed: the report says what it could not read.
            verdict = "cannot tell: " + a["coverage"]["limits"][0].split(":")[0]
            match = "n/a (incomplete evidence, said so; exit 3)"
        else:
            match = "yes" if srv is None or srv == mg_merged else "NO"
        bad += 1 if match == "NO" else 0
        rows.append((os.path.basename(d.rstrip("/")), server,
                     {True: "merged", False: "not merged", None: "?"}[srv], verdict, kinds, match))
    with open(out_md, "w") as f:
        f.write("| capture | server | servers' CLUSTER NODES at the end | meetgraph | warnings and incidents found | match |\n")
        f.write("|---|---|---|---|---|---|\n")
        for r in rows:
            f.write("| " + " | ".join(str(x) for x in r) + " |\n")
    print(open(out_md).read())
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
