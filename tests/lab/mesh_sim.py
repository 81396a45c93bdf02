#!/usr/bin/env python3
"""A capture of a steady N-node cluster bus, full mesh, for memory and time
bounds at sizes the lab cannot run (1,000 real servers do not fit on a
small machine): every node has an outbound link to every other node
(N*(N-1) TCP connections, each with its SYN handshake), and over the
capture each link carries ROUNDS PING/PONG exchanges, as a cluster with a
long node timeout does (a node PINGs each peer every node_timeout/2).

    python3 tests/lab/mesh_sim.py --nodes 1000 /work/mesh1000/mesh.pcap.gz
    /usr/bin/time -v target/release/meetgraph analyze /work/mesh1000/mesh.pcap.gz

Messages are real ones, rewritten: the first V1 PING and PONG of the
template capture (default `samples/redis-7.0-loopback-merge`, Redis 7.0)
keep their header bytes (version, flags, state, message flags, no
extensions) and get the simulated sender's id, address, ports, epochs and
slots (all nodes are masters sharing the 16,384 slots; node i is
10.(1+i/62500).(i/250%250).(i%250+1), port 7000, bus port 17000), and
GOSSIP entries naming random other nodes (default N/10 like the server,
at least 3). Time runs over ROUNDS * PERIOD seconds. Pure standard
library; the output is gzip-compressed when its name ends in .gz (level 1).
"""
import argparse
import gzip
import hashlib
import pathlib
import random
import struct
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from junk_flows import ROOT, read_pcap  # noqa: E402

HDR = 2256  # V1 header
ENTRY = 104  # gossip entry


def templates(sample):
    """Header bytes of the first V1 PING and PONG of the sample's capture."""
    caps = sorted(pathlib.Path(sample).glob("*.pcap.gz"))
    _, link, pkts = read_pcap(caps[0])
    found = {}
    for _, data, _ in pkts:
        at = data.find(b"RCmb")
        if at < 0 or len(data) < at + HDR:
            continue
        m = data[at:]
        ver, typ = struct.unpack(">H", m[8:10])[0], struct.unpack(">H", m[12:14])[0]
        if ver == 1 and typ in (0, 1) and typ not in found and struct.unpack(">H", m[2214:2216])[0] == 0:
            found[typ] = bytearray(m[:HDR])
        if len(found) == 2:
            return found[0], found[1]
    raise SystemExit(f"{caps[0]}: no V1 PING and PONG without extensions")


def node_ip(i):
    return [10, 1 + i // 62500, (i // 250) % 250, i % 250 + 1]


class Mesh:
    def __init__(self, n, gossip, seed):
        self.n = n
        self.gossip = gossip
        self.rng = random.Random(seed)
        self.ids = [hashlib.sha1(f"mesh-node-{i}".encode()).hexdigest().encode() for i in range(n)]
        self.ips = [node_ip(i) for i in range(n)]
        self.ip_text = [".".join(map(str, ip)).encode() for ip in self.ips]
        per = 16384 // n
        self.slots = []
        for i in range(n):
            lo, hi = i * per, (16383 if i == n - 1 else (i + 1) * per - 1)
            bm = bytearray(2048)
            for s in range(lo, hi + 1):
                bm[s >> 3] |= 1 << (s & 7)
            self.slots.append(bytes(bm))

    def message(self, tmpl, i, now_s):
        """Node i's PING or PONG (from template `tmpl`) at `now_s`."""
        k = self.gossip
        m = bytearray(tmpl)
        struct.pack_into(">I", m, 4, HDR + k * ENTRY)
        struct.pack_into(">H", m, 10, 7000)  # port (the type stays)
        struct.pack_into(">H", m, 14, k)  # gossip count
        struct.pack_into(">QQQ", m, 16, self.n, i + 1, 0)  # currentEpoch, configEpoch, offset
        m[40:80] = self.ids[i]
        m[80:2128] = self.slots[i]
        m[2128:2168] = bytes(40)
        m[2168:2214] = bytes(46)
        struct.pack_into(">HHHB", m, 2246, 0, 17000, 1, 0)  # pport, cport, flags master, state ok
        parts = [bytes(m)]
        for j in self.rng.sample(range(self.n - 1), k):
            j += j >= i  # any node but i
            ip = self.ip_text[j]
            parts.append(self.ids[j] + struct.pack(">II", 0, now_s) + ip + bytes(46 - len(ip))
                         + struct.pack(">HHHHxx", 7000, 17000, 1, 0))  # flags: master
        return b"".join(parts)


def eth_ip_tcp(src, dst, sport, dport, seq, ack, flags, payload):
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 0xFFFF, 0, 0)
    return b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp + payload


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--gossip", type=int, help="entries per message (default nodes/10, at least 3)")
    ap.add_argument("--rounds", type=int, default=2, help="PING/PONG exchanges per link")
    ap.add_argument("--period", type=float, default=30.0, help="seconds per round")
    ap.add_argument("--sample", default=str(ROOT / "samples/redis-7.0-loopback-merge"))
    ap.add_argument("--seed", type=int, default=1000)
    a = ap.parse_args()
    n = a.nodes
    g = a.gossip if a.gossip is not None else max(3, n // 10)
    g = min(g, n - 1)
    ping, pong = templates(a.sample)
    mesh = Mesh(n, g, a.seed)
    out = gzip.open(a.out, "wb", compresslevel=1) if a.out.endswith(".gz") else open(a.out, "wb", buffering=1 << 20)
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    links = [(i, j) for i in range(n) for j in range(n) if i != j]
    mesh.rng.shuffle(links)
    t0 = 1_800_000_000 * 1_000_000
    step = int(a.period * 1_000_000) // len(links)
    d = max(1, step // 6)  # a link's packets stay before the next link's
    seq = {}  # link → [dialler's next seq, listener's next seq]
    packets = messages = size = 0

    def put(ts, data):
        nonlocal packets, size
        out.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)) + data)
        packets += 1
        size += 16 + len(data)

    for r in range(a.rounds):
        for k, (i, j) in enumerate(links):
            ts = t0 + int(r * a.period * 1_000_000) + k * step
            src, dst = mesh.ips[i], mesh.ips[j]
            sport = 20000 + j % 40000  # unique per (i, j): i has one link to j
            if r == 0:
                isn, isn2 = mesh.rng.getrandbits(32), mesh.rng.getrandbits(32)
                put(ts, eth_ip_tcp(src, dst, sport, 17000, isn, 0, 0x02, b""))
                put(ts + d, eth_ip_tcp(dst, src, 17000, sport, isn2, isn + 1, 0x12, b""))
                put(ts + 2 * d, eth_ip_tcp(src, dst, sport, 17000, isn + 1, isn2 + 1, 0x10, b""))
                seq[(i, j)] = [isn + 1, isn2 + 1]
            s = seq[(i, j)]
            now_s = ts // 1_000_000
            p = mesh.message(ping, i, now_s)
            put(ts + 3 * d, eth_ip_tcp(src, dst, sport, 17000, s[0], s[1], 0x18, p))
            s[0] += len(p)
            q = mesh.message(pong, j, now_s)
            put(ts + 4 * d, eth_ip_tcp(dst, src, 17000, sport, s[1], s[0], 0x18, q))
            s[1] += len(q)
            messages += 2
    out.close()
    print(f"{a.out}: {n} nodes, {len(links)} connections, {messages} messages of {g} gossip entries, "
          f"{packets} packets, {size / 1e6:.0f} MB uncompressed, {a.rounds * a.period:.0f} s")


if __name__ == "__main__":
    main()
