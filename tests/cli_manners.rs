//! tcpdump's manners on files (issue 12 items 1, 6, 7): `-r`, `-c`, a BPF
//! filter (flag or trailing expression), `--host`; errors that speak to
//! people; `-` for stdout on every streaming output; completions and man.

mod common;

use common::samples_dir;
use std::process::{Command, Output};

fn meetgraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(samples_dir().join("redis-7.0-loopback-merge"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn stat(out: &str, key: &str) -> u64 {
    let line = out.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in {out}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn count_read_and_host_work_on_files() {
    let all = meetgraph(&["dump", "-q", "--stats", "lo.pcap.gz"]);
    assert_eq!(all.status.code(), Some(0));
    let packets = stat(&text(&all.stdout), "packets");
    assert!(packets > 300);
    let some = meetgraph(&["dump", "-q", "--stats", "-c", "300", "-r", "lo.pcap.gz"]);
    assert_eq!(some.status.code(), Some(0), "{}", text(&some.stderr));
    assert_eq!(stat(&text(&some.stdout), "packets"), 300);
    // -r is the positional file.
    let (r, positional) = (meetgraph(&["dump", "-r", "lo.pcap.gz"]), meetgraph(&["dump", "lo.pcap.gz"]));
    for o in [&r, &positional] {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let lines = text(&r.stdout).lines().count() as u64;
    assert!(lines >= stat(&text(&all.stdout), "messages"), "{lines} lines: a line per message");
    assert_eq!(r.stdout, positional.stdout);
    // Loopback: every segment is 127.0.0.1; another host selects nothing.
    let none = meetgraph(&["dump", "-q", "--stats", "--host", "10.9.9.9", "lo.pcap.gz"]);
    assert_eq!(none.status.code(), Some(0));
    assert_eq!(stat(&text(&none.stdout), "messages"), 0);
    let lo = meetgraph(&["dump", "-q", "--stats", "--host", "127.0.0.1", "lo.pcap.gz"]);
    assert_eq!(lo.status.code(), Some(0));
    assert!(stat(&text(&all.stdout), "messages") > 0);
    assert_eq!(stat(&text(&lo.stdout), "messages"), stat(&text(&all.stdout), "messages"));
}

#[cfg(feature = "live")]
#[test]
fn a_bpf_filter_works_on_files_as_flag_or_trailing_expression() {
    let trailing = meetgraph(&["dump", "lo.pcap.gz", "tcp", "port", "17001"]);
    assert_eq!(trailing.status.code(), Some(0), "{}", text(&trailing.stderr));
    let out = text(&trailing.stdout);
    assert!(out.lines().count() > 10);
    assert!(out.lines().all(|l| l.contains(":17001 ")), "{out}");
    let flag = meetgraph(&["dump", "-f", "tcp port 17001", "lo.pcap.gz"]);
    assert_eq!(flag.stdout, trailing.stdout);
    // Frame numbers stay those of the file.
    let whole = text(&meetgraph(&["dump", "lo.pcap.gz"]).stdout);
    let first = out.lines().next().unwrap();
    assert!(whole.lines().any(|l| l == first));
    let bad = meetgraph(&["dump", "lo.pcap.gz", "tcp", "port"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("syntax error"), "{}", text(&bad.stderr));
}

#[cfg(not(feature = "live"))]
#[test]
fn a_bpf_filter_on_files_names_the_feature_it_needs() {
    let o = meetgraph(&["dump", "-f", "tcp port 17001", "lo.pcap.gz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--features live"), "{}", text(&o.stderr));
}

#[test]
fn outputs_speak_to_people_and_dash_is_stdout() {
    let jpg = meetgraph(&["analyze", "lo.pcap.gz", "--chart", "x.jpg"]);
    assert_eq!(jpg.status.code(), Some(2));
    assert!(text(&jpg.stderr).contains("use .svg or .png"), "{}", text(&jpg.stderr));
    let missing = meetgraph(&["analyze", "lo.pcap.gz", "--chart", "/nonexistent/x.png"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = text(&missing.stderr);
    assert!(err.contains("cannot write /nonexistent/x.png: No such file or directory"), "{err}");
    assert!(!err.contains("BackendError"));
    let html = meetgraph(&["analyze", "lo.pcap.gz", "--html", "-"]);
    assert_eq!(html.status.code(), Some(0));
    assert!(text(&html.stdout).starts_with("<!DOCTYPE html>"), "{}", &text(&html.stdout)[..80]);
    assert!(!std::path::Path::new("-").exists());
    let svg = meetgraph(&["analyze", "lo.pcap.gz", "--chart", "-"]);
    assert!(text(&svg.stdout).starts_with("<svg"));
    let dot = meetgraph(&["analyze", "lo.pcap.gz", "--dot", "-"]);
    assert!(text(&dot.stdout).starts_with("digraph"));
    let two = meetgraph(&["analyze", "lo.pcap.gz", "--json", "-", "--mermaid", "-"]);
    assert_eq!(two.status.code(), Some(2));
    assert!(text(&two.stderr).contains("--json and --mermaid"), "{}", text(&two.stderr));
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let o = meetgraph(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        assert!(text(&o.stdout).contains("--vantage"), "{shell}");
    }
    // The manual itself: tests/man.rs.
    let man = text(&meetgraph(&["man"]).stdout);
    assert!(man.contains(".TH MEETGRAPH 1") && man.contains("analyze"), "{man}");
}

#[cfg(feature = "live")]
#[test]
fn list_interfaces_like_tcpdump_d() {
    let o = meetgraph(&["watch", "-D"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).lines().any(|l| l.ends_with(".lo") || l.contains(".lo ")), "{}", text(&o.stdout));
}

/// `-w` with `-C`/`-W`: the saved files are complete pcapng files, rotated
/// and kept in a ring like tcpdump's.
#[test]
fn saved_captures_rotate_and_read_back_whole() {
    use meetgraph::capture::{CaptureFile, PacketSource, SaveOptions, Saved};
    let src = samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz");
    let dir = std::env::temp_dir().join(format!("meetgraph-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let count = |p: &std::path::Path| {
        let mut f = CaptureFile::open(p).unwrap();
        let mut n = 0u64;
        while f.advance().unwrap() {
            n += 1;
        }
        n
    };
    let total = count(&src);
    for ring in [None, Some(2)] {
        let base = dir.join(format!("cap-{ring:?}.pcapng"));
        let opts = SaveOptions { path: base.clone(), rotate_bytes: Some(300_000), files: ring };
        let mut s = Saved::new(CaptureFile::open(&src).unwrap(), opts).unwrap();
        while s.advance().unwrap() {}
        assert!(s.take_error().is_none());
        let mut files = vec![base.clone()];
        for i in 1.. {
            let p = std::path::PathBuf::from(format!("{}{i}", base.display()));
            if !p.exists() {
                break;
            }
            files.push(p);
        }
        let saved: u64 = files.iter().map(|p| count(p)).sum();
        match ring {
            None => {
                assert!(files.len() >= 3, "{files:?}");
                assert_eq!(saved, total);
            }
            Some(n) => {
                assert_eq!(files.len(), n as usize, "{files:?}");
                assert!(saved < total && saved > 0);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// How `report::colourize` coloured a rendered report before the report
/// took a `Style` (headings bold; verdict lines and the incident findings
/// red): the colour output must stay what it was.
fn colour_as_before(report: &str) -> String {
    const VERDICTS: [&str; 6] = ["MERGE", "NEAR MISS", "ID CONFLICT", "ADDRESS REUSE", "Root cause:", "Damage:"];
    let mut out = String::new();
    let mut incident_section = false;
    for line in report.lines() {
        if line.starts_with("== ") {
            incident_section = line.starts_with("== Incident findings");
            out.push_str(&format!("\x1b[1m{line}\x1b[0m\n"));
        } else if VERDICTS.iter().any(|v| line.starts_with(v)) || (incident_section && !line.is_empty()) {
            out.push_str(&format!("\x1b[31m{line}\x1b[0m\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn report_colour_marks_headings_and_verdicts_only() {
    use meetgraph::output::report::{ReportOptions, Style, write_report};
    // A merge with its root cause and damage; an address reuse; a near miss
    // (an address meaning two nodes); an id conflict.
    for sample in [
        "redis-7.0-loopback-merge",
        "redis-4.0.14-address-reuse-merge",
        "redis-6.2-docker-bridge",
        "redis-4.0.14-cloned-identity",
    ] {
        let dir = samples_dir().join(sample);
        let files: Vec<_> =
            common::sample_captures().into_iter().filter(|p| p.parent() == Some(dir.as_path())).collect();
        let (mut inputs, cfg) = common::file_inputs(&files);
        let a = meetgraph::run::analyze_inputs(&mut inputs, cfg).0.finish();
        let render = |style| {
            let mut v = Vec::new();
            write_report(&mut v, &a, &ReportOptions::default(), style).unwrap();
            String::from_utf8(v).unwrap()
        };
        let (plain, colour) = (render(Style::Plain), render(Style::Colour));
        assert!(!plain.contains('\x1b'), "{sample}");
        assert!(colour.contains("\x1b[1m== What happened\x1b[0m\n"), "{sample}");
        assert!(colour.contains("\x1b[31m"), "{sample}: no verdict in red");
        assert_eq!(colour, colour_as_before(&plain), "{sample}");
        // Without the escapes it is the same text.
        assert_eq!(colour.replace("\x1b[1m", "").replace("\x1b[31m", "").replace("\x1b[0m", ""), plain);
    }
    // Piped (tests): no colour.
    let o = meetgraph(&["analyze", "lo.pcap.gz"]);
    assert!(!text(&o.stdout).contains('\x1b'));
}

/// The progress bar (issue 13): on a terminal (a pty from `script`) it
/// shows bytes of total, rate and ETA on stderr; never with
/// `--no-progress`, `dump -q`, or when stderr is not a terminal. The report
/// on stdout is the same either way.
#[test]
fn progress_bar_only_on_a_terminal_and_never_when_asked_not_to() {
    let dir = samples_dir().join("redis-7.0-loopback-merge");
    let file = dir.join("lo.pcap.gz");
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let on_tty = |args: &str| {
        let o = Command::new("script")
            .args(["-qec", &format!("{bin} {args} > /dev/null"), "/dev/null"])
            .env("MEETGRAPH_PROGRESS_DELAY_MS", "0")
            .output()
            .expect("script (util-linux) runs a command on a pty");
        text(&o.stdout)
    };
    let f = file.display();
    let shown = on_tty(&format!("analyze {f}"));
    assert!(shown.contains("ETA") && shown.contains("iB/"), "{shown:?}");
    assert!(!on_tty(&format!("analyze --no-progress {f}")).contains("ETA"));
    assert!(!on_tty(&format!("dump -q --stats {f}")).contains("ETA"));
    // Not a terminal: nothing on stderr, and the report is unchanged.
    let piped =
        Command::new(bin).args(["analyze"]).arg(&file).env("MEETGRAPH_PROGRESS_DELAY_MS", "0").output().unwrap();
    assert!(!text(&piped.stderr).contains("ETA"));
    let quiet = meetgraph(&["analyze", "--no-progress", "lo.pcap.gz"]);
    assert_eq!(piped.stdout, quiet.stdout);
}
