//! Live-capture labs for tests (as root): network namespaces with their
//! loopback up, Redis 7.0 cluster nodes in them (Debian's
//! /usr/bin/redis-server), `meetgraph` run inside, and readiness checked
//! on the process itself (its packet socket is open) rather than by
//! sleeping. Everything in a namespace is killed and the namespace removed
//! when the value is dropped, a failed assertion included.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A network namespace of this test process.
pub struct Netns {
    pub name: String,
    pub dir: PathBuf,
}

impl Netns {
    /// Creates `PREFIX-PID` (prefix `mgl…`-like, short: interface and
    /// namespace names are bounded) with its loopback up.
    pub fn new(prefix: &str) -> Netns {
        let name = format!("{prefix}{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let ok = Command::new("ip").args(["netns", "add", &name]).status().expect("ip (iproute2)").success();
        assert!(ok, "ip netns add {name}: needs root");
        let ns = Netns { dir: std::env::temp_dir().join(&name), name };
        ns.run(&["ip", "link", "set", "lo", "up"]);
        std::fs::create_dir_all(&ns.dir).unwrap();
        ns
    }

    /// A namespace with a cluster of two empty nodes of Redis 7.0 on
    /// `port` and `port + 1`, met and gossiping.
    pub fn with_cluster(prefix: &str, port: u16) -> Netns {
        let ns = Netns::new(prefix);
        ns.redis(port);
        ns.redis(port + 1);
        ns.meet(port, "127.0.0.1", port + 1);
        ns
    }

    /// A command run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `args` inside; panics when it fails.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// `meetgraph ARGS` started inside (its pid is the child's: `ip netns
    /// exec` executes it), stdout and stderr piped.
    pub fn spawn_meetgraph(&self, args: &[&str]) -> Child {
        self.cmd(env!("CARGO_BIN_EXE_meetgraph"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Starts an empty cluster node of Redis 7.0 on `port` (every address
    /// of the namespace).
    pub fn redis(&self, port: u16) {
        let d = self.dir.join(port.to_string());
        std::fs::create_dir_all(&d).unwrap();
        let (port, conf) = (port.to_string(), d.join("nodes.conf"));
        self.run(&[
            "/usr/bin/redis-server",
            "--port",
            &port,
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            conf.to_str().unwrap(),
            "--dir",
            d.to_str().unwrap(),
            "--daemonize",
            "yes",
            "--save",
            "",
            "--protected-mode",
            "no",
        ]);
        let t = Instant::now();
        while !self.cli(&port, &["ping"]).contains("PONG") {
            assert!(t.elapsed() < Duration::from_secs(10), "redis on {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `redis-cli -p PORT ARGS` inside; its standard output.
    pub fn cli(&self, port: &str, args: &[&str]) -> String {
        let out = self.cmd("redis-cli").args(["-p", port]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `CLUSTER MEET` from the node on `port` to `ip:to`; then waits until
    /// both list each other as connected.
    pub fn meet(&self, port: u16, ip: &str, to: u16) {
        let (p, t) = (port.to_string(), to.to_string());
        assert_eq!(self.cli(&p, &["cluster", "meet", ip, &t]), "OK");
        let start = Instant::now();
        loop {
            let nodes = self.cli(&p, &["cluster", "nodes"]);
            if nodes.lines().count() >= 2 && !nodes.contains("handshake") && nodes.contains("connected") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no meet {port} -> {to}: {nodes}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node id of the Redis node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        self.cli(&port.to_string(), &["cluster", "myid"])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let pids = Command::new("ip").args(["netns", "pids", &self.name]).output();
        if let Ok(p) = pids {
            for pid in String::from_utf8_lossy(&p.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `pid` captures: a packet socket open and a thread waiting
/// in poll(2) for packets (libpcap's ring is mapped and the filter set
/// once the capture loop runs; packets that arrive before the filter is
/// set are flushed by libpcap, neither captured nor dropped). Panics after
/// 10 s.
pub fn wait_capturing(pid: u32) {
    let t = Instant::now();
    loop {
        if capturing(pid) && polling(pid) {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "meetgraph {pid} never opened its capture");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether one of `pid`'s threads sleeps in poll(2) (the live capture's
/// wait for packets; no other thread of meetgraph polls).
fn polling(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().any(|t| std::fs::read_to_string(t.path().join("wchan")).is_ok_and(|w| w.contains("poll")))
}

/// Whether one of `pid`'s descriptors is a packet socket of its namespace.
fn capturing(pid: u32) -> bool {
    let Ok(table) = std::fs::read_to_string(format!("/proc/{pid}/net/packet")) else { return false };
    // The last column of /proc/net/packet is the socket's inode.
    let inodes: Vec<&str> = table.lines().skip(1).filter_map(|l| l.split_whitespace().last()).collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten().filter_map(|f| std::fs::read_link(f.path()).ok()).any(|l| {
        let l = l.to_string_lossy().into_owned();
        l.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).is_some_and(|i| inodes.contains(&i))
    })
}

/// Sends `signal` (`-INT`, `-TERM`) to `pid` and waits for the child to
/// end; its output and how long it took after the signal.
pub fn stop_with(child: Child, signal: &str) -> (Output, Duration) {
    let pid = child.id().to_string();
    let t = Instant::now();
    assert!(Command::new("kill").args([signal, &pid]).status().unwrap().success());
    let out = wait_output(child, Duration::from_secs(10));
    (out, t.elapsed())
}

/// The child's output once it ends; killed after `limit` (then the
/// assertion on its status fails, with what it printed).
pub fn wait_output(mut child: Child, limit: Duration) -> Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Sends `n` UDP datagrams to 127.0.0.1:9999 inside `ns`, each starting
/// with its sequence number (4 bytes, big-endian), `size` bytes long; a
/// socket bound there receives them (no ICMP back).
pub fn udp_burst(ns: &Netns, n: u32, size: usize) {
    let script = format!(
        "import socket\nr=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nr.bind(('127.0.0.1',9999))\n\
         r.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1<<20)\n\
         s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
         for i in range({n}):\n    s.sendto(i.to_bytes(4,'big')+b'x'*{pad},('127.0.0.1',9999))\n",
        pad = size - 4
    );
    ns.run(&["python3", "-c", &script]);
}
