#!/usr/bin/env python3
"""Counts cluster-bus messages per (type, sender) in captures, independently
of meetgraph and of wireshark/rcmb.lua: its own pcap/pcapng reader (gzip
too), link layers (Ethernet, VLAN, Linux cooked v1/v2, BSD loopback, raw
IP), IPv4/IPv6, TCP reassembly and RCmb framing, written from the protocol
notes (shared/protocol/cluster-bus.md §1-§5), standard library only.

    count_messages.py CAPTURE...                 table per capture
    count_messages.py --tshark wireshark/rcmb.lua CAPTURE...
        also runs tshark with the dissector and compares per (type, sender)
    count_messages.py --tshark LUA --meetgraph BIN CAPTURE...
        and `BIN dump --format jsonl` as a third column
    --json                                       one JSON object per capture

Reassembly: per TCP direction, from its SYN (a new SYN with another ISN
starts a new stream), bytes ordered by sequence number, retransmitted and
overlapping bytes kept once (first copy wins), a hole ends the framing of
that direction (counted as `holes`). Framing: a stream seen from its SYN
must start with `RCmb`; every message is `totlen` bytes; a message start
without `RCmb` or with `totlen` < 16 ends the framing (`desync`). A
direction whose SYN was not captured is framed from its first segment that
starts with `RCmb` and reported apart (`midstream`). Each message is also
checked against the receiver's length rules (§1.3); failures are counted as
`malformed` (and still listed, as Wireshark shows them).

Exit status: 0, or 1 when --tshark/--meetgraph disagree with the decoder.
"""

import argparse
import collections
import gzip
import json
import struct
import subprocess
import sys

TYPE_NAMES = ["ping", "pong", "meet", "fail", "publish", "failover_auth_request",
              "failover_auth_ack", "update", "mfstart", "module", "publishshard"]


def type_name(t):
    return TYPE_NAMES[t] if 0 <= t < len(TYPE_NAMES) else "unknown"


# ---------------------------------------------------------------- capture files

def open_capture(path):
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rb").read()
    with open(path, "rb") as f:
        return f.read()


def packets(data):
    """Yields (linktype, frame bytes) of every packet, in file order."""
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        yield from pcap_packets(data, "<")
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        yield from pcap_packets(data, ">")
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from pcapng_packets(data)
    else:
        raise ValueError("not a pcap or pcapng file")


def pcap_packets(data, e):
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    at = 24
    while at + 16 <= len(data):
        incl = struct.unpack(e + "I", data[at + 8:at + 12])[0]
        yield linktype, data[at + 16:at + 16 + incl]
        at += 16 + incl


def pcapng_packets(data):
    at, e, links = 0, "<", []
    while at + 12 <= len(data):
        btype = struct.unpack(e + "I", data[at:at + 4])[0]
        if btype == 0x0A0D0D0A:
            e = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(e + "I", data[at + 4:at + 8])[0]
        if blen < 12:
            break
        body = data[at + 8:at + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6:  # enhanced packet
            iface, _, _, caplen = struct.unpack(e + "IIII", body[:16])
            if iface < len(links):
                yield links[iface], body[20:20 + caplen]
        elif btype == 3 and links:  # simple packet
            yield links[0], body[4:]
        at += blen


# ---------------------------------------------------------------- link, IP, TCP

def ip_packet(linktype, fr):
    """The IP packet inside a frame, or None."""
    if linktype == 1:  # Ethernet
        et, off = struct.unpack("!H", fr[12:14])[0] if len(fr) >= 14 else 0, 14
        while et in (0x8100, 0x88A8) and len(fr) >= off + 4:
            et, off = struct.unpack("!H", fr[off + 2:off + 4])[0], off + 4
        return fr[off:] if et in (0x0800, 0x86DD) else None
    if linktype == 113:  # Linux cooked v1
        return fr[16:] if len(fr) >= 16 and struct.unpack("!H", fr[14:16])[0] in (0x0800, 0x86DD) else None
    if linktype == 276:  # Linux cooked v2
        return fr[20:] if len(fr) >= 20 and struct.unpack("!H", fr[0:2])[0] in (0x0800, 0x86DD) else None
    if linktype in (0, 108):  # BSD loopback
        return fr[4:]
    if linktype in (101, 12, 14):  # raw IP
        return fr
    return None


def tcp_segment(ip):
    """(src, dst, sport, dport, seq, flags, payload) of a TCP segment, or None."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        frag = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != 6 or frag & 0x1FFF or ihl < 20:
            return None
        src, dst = ip[12:16], ip[16:20]
        body = ip[ihl:total] if total >= ihl else ip[ihl:]
    elif v == 6:
        nh, off = ip[6], 40
        plen = struct.unpack("!H", ip[4:6])[0]
        end = 40 + plen if plen else len(ip)
        while nh in (0, 43, 60) and len(ip) >= off + 8:  # hop-by-hop, routing, dest options
            nh, off = ip[off], off + (ip[off + 1] + 1) * 8
        if nh != 6:
            return None
        src, dst = ip[8:24], ip[24:40]
        body = ip[off:end]
    else:
        return None
    if len(body) < 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", body[:8])
    doff = (body[12] >> 4) * 4
    flags = body[13]
    return src, dst, sport, dport, seq, flags, body[doff:]


def addr(a):
    if len(a) == 4:
        return ".".join(str(b) for b in a)
    return ":".join("%x" % struct.unpack("!H", a[i:i + 2])[0] for i in range(0, 16, 2))


# ---------------------------------------------------------------- reassembly

class Direction:
    def __init__(self, key, isn, syn):
        self.key, self.isn, self.syn = key, isn, syn
        self.segments = []  # (seq, payload)


def directions(data):
    """Every TCP direction of the capture with its segments."""
    live, done = {}, []
    for linktype, fr in packets(data):
        ip = ip_packet(linktype, fr)
        seg = tcp_segment(ip) if ip is not None else None
        if seg is None:
            continue
        src, dst, sport, dport, seq, flags, payload = seg
        key = (addr(src), sport, addr(dst), dport)
        d = live.get(key)
        if flags & 0x02:  # SYN: a new stream unless it is a retransmission
            if d is None or not d.syn or d.isn != (seq + 1) % 2**32:
                if d is not None:
                    done.append(d)
                d = live[key] = Direction(key, (seq + 1) % 2**32, True)
            continue
        if d is None:
            d = live[key] = Direction(key, None, False)
        if payload:
            d.segments.append((seq, payload))
    return done + list(live.values())


def stream_bytes(d):
    """The direction's bytes from its start (or first segment starting with
    RCmb when joined mid-way), up to the first hole; and the hole count."""
    segs = d.segments
    if not segs:
        return b"", 0
    if d.syn:
        base = d.isn
    else:
        starts = [s for s, p in segs if p.startswith(b"RCmb")]
        if not starts:
            return b"", 0
        base = starts[0]
    rel = []
    for seq, p in segs:
        off = (seq - base) % 2**32
        if off >= 2**31:  # before the base: keep what reaches past it
            back = 2**32 - off
            if back >= len(p):
                continue
            p, off = p[back:], 0
        rel.append((off, p))
    rel.sort(key=lambda x: x[0])
    out = bytearray()
    holes = 0
    for off, p in rel:
        if off > len(out):
            holes += 1
            break
        if off + len(p) > len(out):
            out += p[len(out) - off:]
    return bytes(out), holes


# ---------------------------------------------------------------- framing

def expected_length(m, totlen):
    """None if `m` passes the receiver's length rules (§1.3), else why not."""
    ver = struct.unpack("!H", m[8:10])[0]
    wt = struct.unpack("!H", m[12:14])[0]
    if ver == 1 and wt & 0x8000:
        t, h = wt & 0x7FFF, 16
        if t not in (4, 9, 10):
            return "light header on type %d" % t
    elif ver in (0, 1):
        t, h = wt, (2208 if ver == 0 else 2256)
        if totlen < h:
            return "shorter than the header"
    else:
        return "version %d" % ver
    body = m[h:totlen]
    if t in (0, 1, 2) and not wt & 0x8000:
        count = struct.unpack("!H", m[14:16])[0]
        g = 104 * count
        if g > len(body):
            return "gossip past totlen"
        rest = body[g:]
        if not rest:
            return None
        exts = struct.unpack("!H", m[2214:2216])[0] if ver == 1 else 0
        if ver == 0 or not m[2253] & 0x04 or exts == 0:
            return "bytes after gossip without extensions"
        for _ in range(exts):
            if len(rest) < 8:
                return "extension header past the end"
            n = struct.unpack("!I", rest[:4])[0]
            if n < 8 or n % 8 or n > len(rest):
                return "extension length %d" % n
            rest = rest[n:]
        return "bytes after the extensions" if rest else None
    if t == 3:
        return None if len(body) == 40 else "FAIL body %d" % len(body)
    if t in (4, 10):
        if len(body) < 8:
            return "PUBLISH body %d" % len(body)
        cl, ml = struct.unpack("!II", body[:8])
        return None if 8 + cl + ml == len(body) else "PUBLISH lengths"
    if t in (5, 6, 8):
        return None if not body else "header-only type with a body"
    if t == 7:
        return None if len(body) == 2096 else "UPDATE body %d" % len(body)
    if t == 9:
        if len(body) < 13:
            return "MODULE body %d" % len(body)
        return None if 13 + struct.unpack("!I", body[8:12])[0] == len(body) else "MODULE length"
    return None


def frame_messages(b, stats):
    """Yields (type name, sender, malformed reason) of the messages of `b`."""
    at = 0
    while at < len(b):
        head = b[at:at + 4]
        if head != b"RCmb"[:len(head)]:
            stats["desync" if at else "not_bus"] += 1
            return
        if len(b) - at < 8:
            stats["truncated_at_end"] += 1
            return
        totlen = struct.unpack("!I", b[at + 4:at + 8])[0]
        if totlen < 16:
            stats["desync"] += 1
            return
        if len(b) - at < totlen:
            stats["truncated_at_end"] += 1
            return
        m = b[at:at + totlen]
        ver = struct.unpack("!H", m[8:10])[0]
        wt = struct.unpack("!H", m[12:14])[0]
        if ver == 1 and wt & 0x8000:
            t, sender = wt & 0x7FFF, ""
        else:
            t = wt
            sender = m[40:80].decode("latin-1") if totlen >= 80 else ""
        yield type_name(t), sender, expected_length(m, totlen)
        at += totlen


def count(path):
    """Per (type, sender) counts of the capture, from streams seen from their
    SYN and from streams joined mid-way, and statistics."""
    data = open_capture(path)
    full, mid = collections.Counter(), collections.Counter()
    stats = collections.Counter()
    for d in directions(data):
        b, holes = stream_bytes(d)
        stats["holes"] += holes
        if not b:
            continue
        for t, s, bad in frame_messages(b, stats):
            (full if d.syn else mid)[(t, s)] += 1
            if bad:
                stats["malformed"] += 1
                stats["malformed: " + bad] += 1
        stats["bus_directions" if b.startswith(b"RCmb") else "other_directions"] += 1
    return full, mid, stats


# ---------------------------------------------------------------- other tools

def tshark_counts(path, lua):
    out = subprocess.run(
        ["tshark", "-n", "-r", path, "-X", "lua_script:" + lua, "-Y", "rcmb", "-T", "fields",
         "-E", "aggregator=|", "-e", "rcmb.layout", "-e", "rcmb.type", "-e", "rcmb.sender"],
        capture_output=True, text=True, check=True)
    c = collections.Counter()
    for line in out.stdout.splitlines():
        lay, ty, snd = (x.split("|") if x else [] for x in line.split("\t"))
        senders = iter(snd)
        for l, t in zip(lay, ty):
            c[(type_name(int(t)), "" if l == "2" else next(senders))] += 1
    return c


def meetgraph_counts(path, binary):
    out = subprocess.run([binary, "dump", "--format", "jsonl", "--no-progress", path],
                         capture_output=True, text=True)
    c = collections.Counter()
    for line in out.stdout.splitlines():
        r = json.loads(line)
        if r.get("record") == "message":
            c[(r["type"], r["sender"] or "")] += 1
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--tshark", metavar="LUA", help="compare with tshark and this dissector")
    ap.add_argument("--meetgraph", metavar="BIN", help="compare with `BIN dump --format jsonl`")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    status = 0
    for path in a.captures:
        full, mid, stats = count(path)
        decoder = full + mid
        cols = [("decoder", decoder)]
        if a.tshark:
            cols.append(("tshark", tshark_counts(path, a.tshark)))
        if a.meetgraph:
            cols.append(("meetgraph", meetgraph_counts(path, a.meetgraph)))
        agree = all(c == decoder for _, c in cols[1:])
        status |= 0 if agree else 1
        if a.json:
            print(json.dumps({
                "capture": path, "agree": agree, "stats": dict(stats),
                "midstream": sum(mid.values()),
                "counts": [{"type": t, "sender": s, **{n: c[(t, s)] for n, c in cols}}
                           for (t, s) in sorted(set().union(*[c for _, c in cols]))],
            }))
            continue
        keys = sorted(set().union(*[c for _, c in cols]))
        print("== %s: %d messages (%d from connections joined mid-way)%s" % (
            path, sum(decoder.values()), sum(mid.values()),
            "" if len(cols) == 1 else (", all agree" if agree else ", DISAGREE")))
        print("   %-22s %-10s %s" % ("type", "sender", " ".join("%9s" % n for n, _ in cols)))
        for t, s in keys:
            vals = [c[(t, s)] for _, c in cols]
            mark = "" if len(set(vals)) == 1 else "   <-- differs"
            print("   %-22s %-10s %s%s" % (t, s[:8] or "(light)", " ".join("%9d" % v for v in vals), mark))
        extra = {k: v for k, v in stats.items() if k not in ("bus_directions", "other_directions")}
        print("   directions: %d bus, %d other; %s" % (stats["bus_directions"], stats["other_directions"],
                                                     extra or "no holes, no desync, nothing malformed"))
    return status


if __name__ == "__main__":
    sys.exit(main())
