//! Property (issue 15): the analysis of an incident does not change when
//! unrelated traffic is mixed into its capture: port scans, non-bus TCP
//! and fake TLS ClientHellos to the incident's own bus ports and others,
//! garbage, and bytes that start like a bus message. Only frame numbers
//! and the counts of what the junk is differ (`compare` says which, field
//! by field: the anomalies junk is, the non-bus streams it adds, its TLS
//! pairs, which are not the bus).

mod common;

use common::samples_dir;
use common::tcp_frame as frame;
use flate2::read::GzDecoder;
use meetgraph::analysis::AnalysisConfig;
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use proptest::prelude::*;
use serde_json::Value;
use std::io::Read;

/// (ts_us, record data) of the sample, and its 24-byte file header.
fn sample() -> (Vec<u8>, Vec<(i64, Vec<u8>)>) {
    let path = samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz");
    let mut raw = Vec::new();
    GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut raw).unwrap();
    assert_eq!(u32::from_le_bytes(raw[20..24].try_into().unwrap()), 1, "Ethernet");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= raw.len() {
        let le = |o: usize| u32::from_le_bytes(raw[at + o..at + o + 4].try_into().unwrap());
        let ts = i64::from(le(0)) * 1_000_000 + i64::from(le(4));
        let incl = le(8) as usize;
        out.push((ts, raw[at + 16..at + 16 + incl].to_vec()));
        at += 16 + incl;
    }
    (raw[..24].to_vec(), out)
}

/// One junk flow's packets: `kind` picks scan, garbage, TLS, HTTP, a
/// fake bus header, RESP.
fn junk_flow(kind: u8, client: [u8; 4], server: ([u8; 4], u16), sport: u16, garbage: &[u8]) -> Vec<Vec<u8>> {
    let c = (client, sport);
    let (isn, isn2) = (1000u32, 5000u32);
    let mut out = vec![frame(c, server, isn, 0, 0x02, &[])];
    if kind.is_multiple_of(6) {
        out.push(frame(server, c, isn2, isn + 1, 0x14, &[]));
        return out;
    }
    out.push(frame(server, c, isn2, isn + 1, 0x12, &[]));
    let payload: Vec<u8> = match kind % 6 {
        1 => garbage.to_vec(),
        2 => {
            let mut h = vec![0x16, 3, 1];
            h.extend_from_slice(&((garbage.len() + 4) as u16).to_be_bytes());
            h.extend_from_slice(&[1, 0, 0, garbage.len() as u8]);
            h.extend_from_slice(garbage);
            h
        }
        3 => b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        4 => {
            let mut h = b"RCmb\x00\x00\x08\xd0\x00\x01".to_vec();
            h.extend_from_slice(garbage);
            h
        }
        _ => b"*1\r\n$4\r\nPING\r\n".to_vec(),
    };
    out.push(frame(c, server, isn + 1, isn2 + 1, 0x18, &payload));
    out.push(frame(c, server, isn + 1 + payload.len() as u32, isn2 + 1, 0x11, &[]));
    out
}

fn pcap(header: &[u8], packets: Vec<(i64, Vec<u8>)>) -> Vec<u8> {
    common::pcap_with(header, packets)
}

/// The whole analysis as JSON, frame numbers zeroed (junk packets shift
/// them).
fn analysis(bytes: Vec<u8>) -> Value {
    let f = CaptureFile::from_reader("lo.pcap".into(), Box::new(std::io::Cursor::new(bytes))).unwrap();
    let mut inputs = [Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
    let a =
        meetgraph::run::analyze(&mut inputs, AnalysisConfig { vantages: vec!["lo.pcap".into()], ..Default::default() });
    let mut v = serde_json::to_value(&a).unwrap();
    zero_frames(&mut v);
    v
}

/// What the junk flows are, counted: anomalies by kind (a TLS stream per
/// fake ClientHello; a message cut by the flow's end per `RCmb` header
/// followed by garbage) and the stream directions that carried bytes.
struct Junk {
    tls: u64,
    fake_bus: u64,
    directions_with_bytes: u64,
}

/// Compares the analysis with junk to the clean one: everything equal
/// except, precisely, what counts the junk itself.
fn compare(clean: &Value, junk: &Value, what: &Junk) -> Result<(), TestCaseError> {
    let (c, j) = (clean.as_object().unwrap(), junk.as_object().unwrap());
    prop_assert_eq!(c.keys().collect::<Vec<_>>(), j.keys().collect::<Vec<_>>());
    for (k, v) in c {
        match k.as_str() {
            "anomalies" | "coverage" => {}
            _ => prop_assert_eq!(v, &j[k], "{}", k),
        }
    }
    // Anomalies: the sample's own, plus exactly what the junk is.
    let mut want = c["anomalies"].as_object().unwrap().clone();
    for (kind, n) in [("tls_stream", what.tls), ("truncated_at_end", what.fake_bus)] {
        let had = want.get(kind).and_then(Value::as_u64).unwrap_or(0);
        if had + n > 0 {
            want.insert(kind.to_string(), Value::from(had + n));
        }
    }
    prop_assert_eq!(&Value::Object(want), &j["anomalies"], "anomalies");
    // Coverage: the bus read is the same (messages, bus streams, gaps,
    // cut messages, encrypted bus, pairs past the bound, bursts, verdict,
    // limits); the other streams grow by the junk's directions that
    // carried bytes; the junk's TLS pairs are listed, none as likely bus.
    let (cc, jc) = (c["coverage"].as_object().unwrap(), j["coverage"].as_object().unwrap());
    prop_assert_eq!(cc.keys().collect::<Vec<_>>(), jc.keys().collect::<Vec<_>>());
    for (k, v) in cc {
        match k.as_str() {
            "other_streams" => {
                prop_assert_eq!(jc[k].as_u64(), v.as_u64().map(|n| n + what.directions_with_bytes), "other_streams")
            }
            "encrypted" => {
                let likely = |x: &Value| -> Vec<Value> {
                    x.as_array().unwrap().iter().filter(|f| f["likely_bus"] == true).cloned().collect()
                };
                prop_assert_eq!(likely(v), likely(&jc[k]), "encrypted bus flows");
            }
            _ => prop_assert_eq!(v, &jc[k], "coverage.{}", k),
        }
    }
    Ok(())
}

fn zero_frames(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "frame" {
                    *x = Value::from(0);
                } else {
                    zero_frames(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(zero_frames),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    #[test]
    fn junk_flows_do_not_change_the_analysis(
        flows in proptest::collection::vec((any::<u8>(), any::<bool>(), 0usize..6, any::<u16>(), proptest::collection::vec(any::<u8>(), 1..200)), 200..600),
    ) {
        let (header, real) = sample();
        let clean = analysis(pcap(&header, real.clone()));
        prop_assert_eq!(clean["merges"].as_array().map(Vec::len), Some(1));
        let (t0, t1) = (real[0].0, real[real.len() - 1].0);
        let bus_ports = [17000u16, 17001, 17002, 17010, 17011, 17012];
        let mut packets = real;
        for (i, (kind, to_bus, port, sport, garbage)) in flows.iter().enumerate() {
            let ts = t0 + (t1 - t0) * i as i64 / flows.len() as i64;
            let server = if *to_bus {
                ([127, 0, 0, 1], bus_ports[*port])
            } else {
                ([10, 99, 0, (i % 250) as u8], [22, 80, 443, 6379, 16379, 17000][*port])
            };
            let client = [10, 200, (i / 250) as u8, (i % 250) as u8];
            for (k, p) in junk_flow(*kind, client, server, sport.max(&1024).to_owned(), garbage).into_iter().enumerate() {
                packets.push((ts + k as i64 * 10, p));
            }
        }
        let kinds = || flows.iter().map(|f| f.0 % 6);
        let count = |k: u8| kinds().filter(|x| *x == k).count() as u64;
        // Every flow but a scan sends bytes from the client (one direction).
        let what = Junk { tls: count(2), fake_bus: count(4), directions_with_bytes: kinds().filter(|k| *k != 0).count() as u64 };
        compare(&clean, &analysis(pcap(&header, packets)), &what)?;
    }
}
