#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the real captures in
samples/ (nothing is committed: run this before fuzzing).

    python3 fuzz/seed.py            # into fuzz/corpus/<target>/
"""
import gzip
import hashlib
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"


def put(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def pcap_records(raw):
    """(link type, record header + data) of a classic little- or big-endian pcap."""
    magic = raw[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return 0, []
    link = struct.unpack(e + "I", raw[20:24])[0]
    out, at = [], 24
    while at + 16 <= len(raw):
        incl = struct.unpack(e + "I", raw[at + 8:at + 12])[0]
        if at + 16 + incl > len(raw):
            break
        out.append(raw[at:at + 16 + incl])
        at += 16 + incl
    return link, out


def main():
    for cap in sorted(ROOT.glob("samples/*/*.pcap*.gz")):
        raw = gzip.open(cap).read()
        link, recs = pcap_records(raw)
        # The whole pipeline: the start of the capture, cut at a record
        # boundary; the same gzipped; pcapng files as they are (start).
        if recs:
            head, size = raw[:24], 0
            for r in recs:
                if size + len(r) > 60_000:
                    break
                head += r
                size += len(r)
            put("pipeline", head)
            if "multihost" in str(cap):
                put("pipeline", gzip.compress(head))
        else:
            put("pipeline", raw[:60_000])
        # Packets, with the link type in front.
        seen = set()
        for r in recs:
            data = r[16:]
            key = (len(data) // 500, data[:1])
            if key in seen:
                continue
            seen.add(key)
            put("decode_packet", struct.pack(">HH", link, 0) + data)
        # Messages: every distinct (version, type, length class).
        seen = set()
        at = raw.find(b"RCmb")
        stream = b""
        while at >= 0 and len(seen) < 40:
            totlen = struct.unpack(">I", raw[at + 4:at + 8])[0]
            msg = raw[at:at + totlen]
            key = (msg[8:10], msg[12:14], totlen // 256)
            if len(msg) == totlen and key not in seen:
                seen.add(key)
                put("parse_message", msg)
                put("analysis", msg[:4096])
                if len(stream) < 20_000:
                    stream += msg
            at = raw.find(b"RCmb", at + 4)
        # The framer: flags, no ops, then the stream (and mid-stream).
        put("framer", b"\x00\x00\x00" + stream)
        put("framer", b"\x01\x00\x00" + stream[1000:])


if __name__ == "__main__":
    main()
