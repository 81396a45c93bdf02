//! Operator commands on the data port: a small streaming RESP reader for
//! the client → server direction, so an analysis can show the `CLUSTER MEET`
//! an operator typed. Only commands whose first word is `CLUSTER` are
//! reported (application traffic is skipped cheaply). Pure: no I/O.

/// Longest argument kept (longer ones end the sniffing of the stream).
const MAX_ARG: usize = 4096;
/// Most arguments per command.
const MAX_ARGS: usize = 64;
/// Longest partial command buffered.
const MAX_BUFFER: usize = 64 * 1024;

/// Result of trying to read one command from the front of a buffer.
enum Parsed {
    /// A command and how many bytes it used.
    Command(Vec<Vec<u8>>, usize),
    Incomplete,
    Invalid,
}

fn read_line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(from..)?;
    let p = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..p], from + p + 2))
}

fn parse_int(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn parse_command(buf: &[u8]) -> Parsed {
    match buf.first() {
        None => Parsed::Incomplete,
        Some(b'*') => {
            let Some((head, mut pos)) = read_line(buf, 1) else {
                return if buf.len() > 16 { Parsed::Invalid } else { Parsed::Incomplete };
            };
            let Some(n) = parse_int(head) else {
                return Parsed::Invalid;
            };
            if n == 0 || n > MAX_ARGS {
                return Parsed::Invalid;
            }
            let mut args = Vec::with_capacity(n);
            for _ in 0..n {
                match buf.get(pos) {
                    None => return Parsed::Incomplete,
                    Some(b'$') => {}
                    Some(_) => return Parsed::Invalid,
                }
                let Some((len, p)) = read_line(buf, pos + 1) else {
                    return if buf.len() - pos > 16 { Parsed::Invalid } else { Parsed::Incomplete };
                };
                let Some(len) = parse_int(len) else {
                    return Parsed::Invalid;
                };
                if len > MAX_ARG {
                    return Parsed::Invalid;
                }
                if buf.len() < p + len + 2 {
                    return Parsed::Incomplete;
                }
                if &buf[p + len..p + len + 2] != b"\r\n" {
                    return Parsed::Invalid;
                }
                args.push(buf[p..p + len].to_vec());
                pos = p + len + 2;
            }
            Parsed::Command(args, pos)
        }
        Some(c) if c.is_ascii_alphabetic() => {
            // Inline command (telnet style).
            let Some(p) = buf.iter().position(|&b| b == b'\n') else {
                return if buf.len() > MAX_ARG { Parsed::Invalid } else { Parsed::Incomplete };
            };
            let line = buf[..p].strip_suffix(b"\r").unwrap_or(&buf[..p]);
            let args: Vec<Vec<u8>> =
                line.split(|b| *b == b' ').filter(|w| !w.is_empty()).take(MAX_ARGS).map(<[u8]>::to_vec).collect();
            Parsed::Command(args, p + 1)
        }
        Some(_) => Parsed::Invalid,
    }
}

/// One client → server direction of a data-port connection.
#[derive(Debug, Default)]
pub struct RespSniffer {
    buf: Vec<u8>,
    dead: bool,
}

impl RespSniffer {
    /// True when the stream turned out not to be RESP commands.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Feeds in-order bytes; calls `on_cluster` with the arguments of every
    /// complete `CLUSTER ...` command.
    pub fn feed(&mut self, data: &[u8], mut on_cluster: impl FnMut(&[Vec<u8>])) {
        if self.dead {
            return;
        }
        self.buf.extend_from_slice(data);
        let mut used = 0;
        loop {
            match parse_command(&self.buf[used..]) {
                Parsed::Command(args, n) => {
                    used += n;
                    if args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"cluster")) {
                        on_cluster(&args);
                    }
                }
                Parsed::Incomplete => break,
                Parsed::Invalid => {
                    self.dead = true;
                    self.buf = Vec::new();
                    return;
                }
            }
        }
        self.buf.drain(..used);
        if self.buf.len() > MAX_BUFFER {
            self.dead = true;
            self.buf = Vec::new();
        }
    }

    /// A gap: alignment is lost for good.
    pub fn gap(&mut self) {
        self.dead = true;
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<Vec<String>> {
        let mut s = RespSniffer::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |a| out.push(a.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect()));
        }
        out
    }

    #[test]
    fn cluster_meet_in_resp_split_anywhere() {
        let cmd = b"*4\r\n$7\r\ncluster\r\n$4\r\nmeet\r\n$12\r\n10.100.1.100\r\n$4\r\n7000\r\n*1\r\n$4\r\nPING\r\n";
        for cut in 0..cmd.len() {
            let got = run(&[&cmd[..cut], &cmd[cut..]]);
            assert_eq!(got, vec![vec!["cluster", "meet", "10.100.1.100", "7000"]], "cut at {cut}");
        }
    }

    #[test]
    fn inline_commands_and_non_cluster_commands() {
        assert_eq!(
            run(&[b"GET x\r\nCLUSTER MEET 127.0.0.1 7011\r\n"]),
            vec![vec!["CLUSTER", "MEET", "127.0.0.1", "7011"]]
        );
        assert!(run(&[b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n"]).is_empty());
    }

    #[test]
    fn garbage_kills_the_sniffer() {
        let mut s = RespSniffer::default();
        s.feed(b"\x00\x01binary", |_| panic!("no command"));
        assert!(s.is_dead());
    }
}
