//! End to end on every CI run: build a topology in network namespaces,
//! start real Redis 7.0 servers, capture with tcpdump, decode and analyse.
//! Needs root, iproute2, tcpdump, redis-cli and /usr/bin/redis-server
//! (`.ci/run` installs them); fails loudly, never skips.

use meetgraph::analysis::AnalysisConfig;
use meetgraph::capture::CaptureFile;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use std::path::Path;
use std::process::Command;

#[test]
fn lab_operator_merge_with_real_redis_is_explained() {
    let out = std::env::temp_dir().join(format!("meetgraph-lab-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/loopback_merge.sh");
    let child = Command::new(&script)
        .arg("/usr/bin/redis-server")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the lab script");
    // The script names its namespace after its own pid.
    let ns_name = format!("mglab-merge-{}", child.id());
    let run = child.wait_with_output().expect("wait for the lab script");
    assert!(
        run.status.success(),
        "lab failed (root, ip, tcpdump, redis-cli and redis-server are required):\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).unwrap()).unwrap();
    let f = CaptureFile::open(&out.join("lo.pcap.gz")).unwrap();
    let mut inputs = vec![Input::new(f, Pipeline::new(0, PipelineConfig::default()))];
    let a = meetgraph::run::analyze(
        &mut inputs,
        AnalysisConfig { vantages: vec!["lo".into()], until_us: None, ..Default::default() },
    );
    assert!(a.anomalies.is_empty(), "{:?}", a.anomalies);
    assert_eq!(a.clusters.len(), 2);
    assert_eq!(a.merges.len(), 1);
    let first = &a.merges[0].chain[0];
    assert_eq!(first.via, meetgraph::analysis::Via::OperatorMeet);
    assert_eq!(first.command.as_deref(), Some("cluster meet 127.0.0.1 7011"));
    assert_eq!(first.learner, truth["nodes"]["7001"]["id"].as_str().unwrap());
    assert_eq!(first.node, truth["nodes"]["7011"]["id"].as_str().unwrap());
    // Nothing of the lab is left behind.
    let ns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&ns.stdout);
    assert!(!listed.lines().any(|l| l.split_whitespace().next() == Some(ns_name.as_str())), "{ns_name} leaked");
    let _ = std::fs::remove_dir_all(&out);
}
