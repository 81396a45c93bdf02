#!/usr/bin/env python3
"""A capture of a real incident drowned in short junk TCP flows (issue 15):
port scans (SYN, RST), random garbage, fake TLS ClientHellos, HTTP, and
bytes that start like a bus message, to many ports including the incident's
own bus ports, interleaved in time with the incident's packets.

    python3 tests/lab/junk_flows.py [--flows 1000000] [--sample DIR] OUT.pcap
    /usr/bin/time -v target/release/meetgraph analyze OUT.pcap > report.txt

The incident must still be found (`MERGE at` in the report) and the peak
memory ("Maximum resident set size") stay under the bound documented in
README.md ("Resource bounds"). Pure standard library; writes ~100 bytes per
packet, 4 packets per flow.
"""
import argparse
import gzip
import pathlib
import random
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read_pcap(path):
    raw = gzip.open(path).read()
    if raw[:4] != b"\xd4\xc3\xb2\xa1":
        raise SystemExit(f"{path}: expected a little-endian microsecond pcap")
    link = struct.unpack("<I", raw[20:24])[0]
    out, at = [], 24
    while at + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack("<IIII", raw[at:at + 16])
        out.append((sec * 1_000_000 + usec, raw[at + 16:at + 16 + incl], orig))
        at += 16 + incl
    return raw[:24], link, out


def tcp_packet(link, src, dst, sport, dport, seq, ack, flags, payload):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 0xFFFF, 0, 0)
    if link == 1:  # Ethernet
        return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp + payload
    if link == 113:  # Linux cooked v1
        return struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0800) + ip + tcp + payload
    if link in (101, 228):
        return ip + tcp + payload
    raise SystemExit(f"link type {link} not supported by this script")


def client_hello(rng):
    body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(40, 200)))
    hs = b"\x01" + struct.pack(">I", len(body) + 2)[1:] + b"\x03\x03" + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def junk(rng, n, t0, t1, bus_ports):
    """Packets (ts_us, data) of `n` short flows, in time order."""
    step = max(1, (t1 - t0) // max(n, 1))
    ports = list(bus_ports) + [22, 80, 443, 6379, 7000, 8080, 16379, 17000, 26379]
    for i in range(n):
        ts = t0 + i * step
        kind = i % 6
        client = [10, 200 + (i >> 24) % 50, (i >> 16) & 0xFF, (i >> 8) & 0xFF]
        # Every tenth flow hits the incident's own bus ports on its address.
        if i % 10 == 0 and bus_ports:
            server, dport = [127, 0, 0, 1], rng.choice(bus_ports)
        else:
            server, dport = [10, 99, (i >> 8) & 0xFF, i & 0xFF], rng.choice(ports)
        sport = 1024 + i % 64000
        isn, isn2 = rng.getrandbits(32), rng.getrandbits(32)
        pkts = [(client, server, sport, dport, isn, 0, 0x02, b"")]
        if kind == 0:  # port scan: SYN, RST
            pkts.append((server, client, dport, sport, isn2, isn + 1, 0x14, b""))
        else:
            pkts.append((server, client, dport, sport, isn2, isn + 1, 0x12, b""))
            payload = {
                1: lambda: bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 120))),
                2: lambda: client_hello(rng),
                3: lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                4: lambda: b"RCmb" + struct.pack(">I", rng.randrange(16, 1 << 26)) + bytes(rng.randrange(0, 64)),
                5: lambda: b"*1\r\n$4\r\nPING\r\n",
            }[kind]()
            pkts.append((client, server, sport, dport, isn + 1, isn2 + 1, 0x18, payload))
            pkts.append((client, server, sport, dport, isn + 1 + len(payload), isn2 + 1, 0x11, b""))
        for k, p in enumerate(pkts):
            yield ts + k * 10, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--sample", default=str(ROOT / "samples/redis-7.0-loopback-merge"))
    ap.add_argument("--seed", type=int, default=15)
    a = ap.parse_args()
    caps = sorted(pathlib.Path(a.sample).glob("*.pcap.gz"))
    header, link, real = read_pcap(caps[0])
    rng = random.Random(a.seed)
    bus_ports = sorted({p for p in range(16000, 20000)} & {
        struct.unpack(">H", d[o:o + 2])[0]
        for _, d, _ in real[:2000]
        for o in (14 + 20, 14 + 22) if len(d) > o + 2
    })[:12]
    t0, t1 = real[0][0], real[-1][0]
    out = open(a.out, "wb")
    out.write(header)
    jit = junk(rng, a.flows, t0, t1, bus_ports)
    nxt = next(jit, None)
    ri = 0
    written = 0
    while ri < len(real) or nxt is not None:
        if nxt is None or (ri < len(real) and real[ri][0] <= nxt[0]):
            ts, data, orig = real[ri]
            ri += 1
        else:
            ts, p = nxt
            data = tcp_packet(link, *p)
            orig = len(data)
            nxt = next(jit, None)
        out.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), orig) + data)
        written += 1
    out.close()
    print(f"{a.out}: {written} packets, {a.flows} junk flows to ports incl. {bus_ports}, link type {link}")


if __name__ == "__main__":
    main()
