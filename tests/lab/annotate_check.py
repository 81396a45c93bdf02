#!/usr/bin/env python3
"""Checks `analyze --annotate` on a lab run's captures (issue 30), by hand
on unseen captures: the annotated file read with tshark, the inputs with
tshark too, against `meetgraph dump --format jsonl` and the JSON analysis.

    python3 tests/lab/annotate_check.py MEETGRAPH DIR [OUT_DIR]

DIR holds the run's *.pcap.gz (or .pcap/.pcapng). Prints what it checked
and the annotated chain as tshark shows it; exits 1 on any failure:
- the packet count equals the inputs' sum, each (file, frame) once;
- times are in order and equal the input's minus the applied offset;
- each MEET `dump` lists has a comment starting "MEET" on its packet;
- each evidence packet of each merge chain step has a comment with
  "chain step i/n" and the learner's short id;
- tshark reads the file with no error, and `frame.comment contains
  "chain"` finds exactly the chain's evidence packets.
"""
import json
import pathlib
import subprocess
import sys
import tempfile


def tshark_fields(path, fields, filt=None):
    cmd = ["tshark", "-n", "-r", str(path), "-T", "json"]
    if filt:
        cmd += ["-Y", filt]
    for f in fields:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True)
    err = [l for l in p.stderr.splitlines() if not l.startswith("Running as user")]
    if p.returncode != 0 or err:
        sys.exit(f"tshark {path} {filt}: status {p.returncode}: {err}")
    return [pkt["_source"]["layers"] for pkt in json.loads(p.stdout or "[]")]


def main():
    meetgraph, run = sys.argv[1], pathlib.Path(sys.argv[2])
    out_dir = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else pathlib.Path(tempfile.mkdtemp())
    files = sorted(p for p in run.iterdir() if p.name.endswith((".pcap", ".pcap.gz", ".pcapng", ".pcapng.gz")))
    out = out_dir / "annotated.pcapng"
    js = out_dir / "analysis.json"
    p = subprocess.run([meetgraph, "analyze", *map(str, files), "--annotate", str(out), "--json", str(js)],
                       capture_output=True, text=True)
    if p.returncode not in (0, 3) or "left out" in p.stderr:
        sys.exit(f"analyze: status {p.returncode}: {p.stderr}")
    analysis = json.loads(js.read_text())
    failures = []

    # Inputs, as tshark reads them.
    shift = {c["vantage"]: (c["clock"]["offset_us"] if c.get("clock", {}).get("applied") else 0)
             for c in analysis["captures"]}
    inputs = {}
    for f in files:
        for l in tshark_fields(f, ["frame.number", "frame.time_epoch"]):
            inputs[(f.name, int(l["frame.number"][0]))] = round(float(l["frame.time_epoch"][0]) * 1e6)
    got = tshark_fields(out, ["frame.number", "frame.time_epoch", "frame.comment", "frame.interface_name"])
    print(f"packets: inputs {len(inputs)} ({', '.join(f.name for f in files)}), annotated {len(got)}")
    if len(got) != len(inputs):
        failures.append("packet count differs")
    by_origin, last = {}, None
    for l in got:
        comments = l.get("frame.comment", [])
        name, _, frame = comments[0].rpartition("#")
        key = (name, int(frame))
        if key in by_origin:
            failures.append(f"{key} twice")
        by_origin[key] = comments
        ts = round(float(l["frame.time_epoch"][0]) * 1e6)
        want = inputs.get(key)
        if want is None or ts != want - shift.get(name, 0):
            failures.append(f"{key}: time {ts}, input {want}, shift {shift.get(name, 0)}")
        if last is not None and ts < last:
            failures.append(f"{key}: out of order")
        last = ts
    if set(by_origin) != set(inputs):
        failures.append("origins differ from the inputs' (file, frame)")
    print(f"times: in order, each the input's minus its applied offset {shift}")

    # MEETs.
    d = subprocess.run([meetgraph, "dump", "--format", "jsonl", *map(str, files)], capture_output=True, text=True)
    meets = [(r["capture"], r["frame"]) for r in map(json.loads, d.stdout.splitlines())
             if r.get("record") == "message" and r["type"] == "meet"]
    bad = [m for m in meets if not any(c.startswith("MEET ") for c in by_origin.get(m, []))]
    print(f"MEETs: {len(meets)} in dump, {len(meets) - len(bad)} said MEET on their packet")
    failures += [f"MEET {m} not said" for m in bad]

    # Chain steps.
    chain = set()
    for m in analysis["merges"]:
        steps = m["chain"]
        for i, s in enumerate(steps, 1):
            name, learner = f"chain step {i}/{len(steps)}", s["learner"][:8]
            for e in s["evidence"]:
                key = (e["capture"], e["frame"])
                chain.add(key)
                if not any(name in c and learner in c for c in by_origin.get(key, [])):
                    failures.append(f"{key}: {name} of {learner} not named")
    print(f"merges: {len(analysis['merges'])}, chain evidence packets: {len(chain)}")
    found = tshark_fields(out, ["frame.number", "frame.comment", "frame.interface_name"], 'frame.comment contains "chain"')
    print(f'tshark -Y \'frame.comment contains "chain"\': {len(found)} packet(s)')
    if len(found) != len(chain):
        failures.append(f"tshark found {len(found)} chain packets, expected {len(chain)}")
    for l in found:
        print(f"  frame {l['frame.number'][0]} ({l['frame.interface_name'][0]})")
        for c in l["frame.comment"]:
            print(f"    {c}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures[:20]))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
