//! An output that cannot be completed leaves no half-written file (README
//! "Exit status": 2 when an output cannot be written). Each of `--html`,
//! `--json`, `--chart` (PNG and SVG), `--dot` and `--mermaid` is written
//! on a file system that fills up halfway through it: a small tmpfs
//! mounted in a private mount namespace (as root; the test fails loudly
//! otherwise), filled until only half the output's size is free. meetgraph
//! must exit 2 naming the file and the system's reason, and leave either
//! nothing (no file, no temporary file) or the earlier file of that name
//! untouched.

mod common;

use std::process::Command;

/// The incident: every output is tens of kilobytes or more.
fn sample() -> Vec<std::path::PathBuf> {
    let dir = common::samples_dir().join("redis-3.0.7-docker-bridge");
    common::captures_in(&dir).into_iter().map(|c| dir.join(c)).collect()
}

/// Size of each output written normally.
fn full_size(flag: &str, name: &str) -> u64 {
    let dir = std::env::temp_dir().join(format!("mg-whole-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .arg("analyze")
        .args(sample())
        .arg(flag)
        .arg(dir.join(name))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let n = std::fs::metadata(dir.join(name)).unwrap().len();
    std::fs::remove_dir_all(&dir).unwrap();
    n
}

/// Runs `analyze … FLAG DIR/NAME` on a tmpfs with `free` bytes left (in
/// whole pages), after writing `earlier` to DIR/NAME when given. Returns
/// the exit status, stderr, the directory's listing and DIR/NAME's
/// content afterwards.
fn on_a_full_disk(
    flag: &str,
    name: &str,
    free: u64,
    earlier: Option<&str>,
) -> (i32, String, Vec<String>, Option<String>) {
    const SIZE: u64 = 1 << 20;
    let dir = std::env::temp_dir().join(format!("mg-full-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"
        set -e
        mount -t tmpfs -o size="$SIZE" none "$DIR"
        cd "$DIR"
        if [ -n "$EARLIER" ]; then printf %s "$EARLIER" > "$NAME"; fi
        # Fill to the last page, then free what must stay free.
        cat /dev/zero > fill 2>/dev/null || true
        truncate -s "-$FREE" fill
        set +e
        "$BIN" analyze "$@" "$FLAG" "$DIR/$NAME" > /dev/null 2> /dev/shm/mg-full-err.$$
        echo "status=$?"
        echo "err=$(cat /dev/shm/mg-full-err.$$)"
        rm -f /dev/shm/mg-full-err.$$
        ls -A | sed 's/^/file=/'
        if [ -e "$NAME" ]; then echo "content=$(head -c 64 "$NAME")"; fi
    "#;
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
        .args(sample())
        .env("SIZE", SIZE.to_string())
        .env("DIR", &dir)
        .env("NAME", name)
        .env("FLAG", flag)
        .env("FREE", free.to_string())
        .env("EARLIER", earlier.unwrap_or(""))
        .env("BIN", env!("CARGO_BIN_EXE_meetgraph"))
        .output()
        .expect("unshare (util-linux)");
    let _ = std::fs::remove_dir(&dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("status="),
        "needs root (mount namespace, tmpfs): {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |k: &str| text.lines().filter_map(|l| l.strip_prefix(k)).map(String::from).collect::<Vec<_>>();
    let mut files = field("file=");
    files.sort();
    let status = field("status=")[0].parse().unwrap();
    (status, field("err=").join("\n"), files, field("content=").pop())
}

#[test]
fn a_full_disk_leaves_no_half_written_output_and_exits_2() {
    let outputs = [
        ("--html", "r.html"),
        ("--json", "a.json"),
        ("--chart", "c.png"),
        ("--chart", "c.svg"),
        ("--dot", "g.dot"),
        ("--mermaid", "g.mmd"),
    ];
    for (flag, name) in outputs {
        let size = full_size(flag, name);
        assert!(size > 1000, "{flag}: {size} bytes");
        // Half the output fits, in whole pages: the write fails midway
        // (at the first byte for outputs under two pages).
        let free = size / 2 / 4096 * 4096;
        let dir = std::env::temp_dir().join(format!("mg-full-{}-{name}", std::process::id()));
        let want_err =
            format!("meetgraph: cannot write {}: No space left on device (os error 28)", dir.join(name).display());
        let (status, err, files, content) = on_a_full_disk(flag, name, free, None);
        assert_eq!((status, err.as_str()), (2, want_err.as_str()), "{flag}");
        assert_eq!(files, ["fill"], "{flag}: nothing half-written is left");
        assert_eq!(content, None);
        // An earlier file of that name stays whole.
        let (status, err, files, content) = on_a_full_disk(flag, name, free, Some("earlier"));
        assert_eq!((status, err.as_str()), (2, want_err.as_str()), "{flag}");
        let mut want = vec!["fill", name];
        want.sort();
        assert_eq!(files, want, "{flag}");
        assert_eq!(content.as_deref(), Some("earlier"), "{flag}: the earlier file is untouched");
    }
}

/// With room enough, the same setup writes the output whole (the test
/// above fails for the disk, not for the setup).
#[test]
fn with_room_the_output_is_written_whole() {
    let size = full_size("--html", "w.html");
    let (status, err, files, content) = on_a_full_disk("--html", "w.html", size + 8192, Some("earlier"));
    assert_eq!((status, err.as_str()), (0, ""));
    assert_eq!(files, ["fill", "w.html"]);
    assert!(content.is_some_and(|c| c.starts_with("<!DOCTYPE html>")));
}
