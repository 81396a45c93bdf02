//! A small classic-BPF assembler: instructions with labels, conditional
//! jumps relaxed into a jump and a long `ja` when their target is more
//! than 255 instructions away. No scratch memory is used, so the kernel's
//! check (every load of memory stored first) holds trivially. The
//! interpreter below runs programs in tests the way the kernel does.

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Opcodes used (classic BPF: class | size | mode, or class | op | source).
pub(super) mod op {
    pub const LD_W_ABS: u16 = 0x20;
    pub const LD_H_ABS: u16 = 0x28;
    pub const LD_B_ABS: u16 = 0x30;
    pub const LD_W_IND: u16 = 0x40;
    pub const LD_H_IND: u16 = 0x48;
    pub const LD_B_IND: u16 = 0x50;
    pub const LDX_IMM: u16 = 0x01;
    /// X = 4 * (packet[k] & 0xf): an IPv4 header's length.
    pub const LDX_MSH: u16 = 0xb1;
    pub const ADD_K: u16 = 0x04;
    pub const ADD_X: u16 = 0x0c;
    pub const OR_K: u16 = 0x44;
    pub const AND_K: u16 = 0x54;
    pub const LSH_K: u16 = 0x64;
    pub const RSH_K: u16 = 0x74;
    pub const TAX: u16 = 0x07;
    pub const JA: u16 = 0x05;
    pub const JEQ_K: u16 = 0x15;
    pub const JGT_K: u16 = 0x25;
    pub const JGE_K: u16 = 0x35;
    pub const JSET_K: u16 = 0x45;
    pub const RET_K: u16 = 0x06;
}

/// Linux's offset of ancillary data: `SKF_AD_OFF + SKF_AD_PROTOCOL` loads
/// the packet's protocol (ethertype) on sockets without a link header.
pub(super) const AD_PROTOCOL: u32 = 0xffff_f000;
/// `SKF_AD_OFF + SKF_AD_PKTTYPE`: the packet's direction.
pub(super) const AD_PKTTYPE: u32 = 0xffff_f004;

/// A place in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Label(usize);

#[derive(Debug)]
enum Item {
    Stmt(Insn),
    Jump { code: u16, k: u32, t: Label, f: Label },
    Ja(Label),
    Place(Label),
}

/// A program being written.
#[derive(Debug, Default)]
pub(super) struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// `l` is the next instruction.
    pub fn place(&mut self, l: Label) {
        self.items.push(Item::Place(l));
    }

    pub fn stmt(&mut self, code: u16, k: u32) {
        self.items.push(Item::Stmt(Insn { code, jt: 0, jf: 0, k }));
    }

    /// A conditional jump on A against `k`.
    pub fn jump(&mut self, code: u16, k: u32, t: Label, f: Label) {
        self.items.push(Item::Jump { code, k, t, f });
    }

    pub fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }

    /// `if A == k goto t`, else the next instruction.
    pub fn jeq_to(&mut self, k: u32, t: Label) {
        let next = self.label();
        self.jump(op::JEQ_K, k, t, next);
        self.place(next);
    }

    /// `if A != k goto f`, else the next instruction.
    pub fn jne_to(&mut self, k: u32, f: Label) {
        let next = self.label();
        self.jump(op::JEQ_K, k, next, f);
        self.place(next);
    }

    /// `if A & k != 0 goto t`, else the next instruction.
    pub fn jset_to(&mut self, k: u32, t: Label) {
        let next = self.label();
        self.jump(op::JSET_K, k, t, next);
        self.place(next);
    }

    pub fn ret(&mut self, k: u32) {
        self.stmt(op::RET_K, k);
    }

    /// The instructions, jumps resolved. Conditional jumps whose target is
    /// too far for 8 bits go through a `ja` placed right after them.
    pub fn assemble(self) -> Vec<Insn> {
        let n = self.items.len();
        let mut long = vec![(false, false); n];
        loop {
            let (at, pos) = self.layout(&long);
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { t, f, .. } = item {
                    let base = at[i] + 1;
                    let far = |l: &Label| pos[l.0] - base > 255;
                    if !long[i].0 && far(t) {
                        long[i].0 = true;
                        changed = true;
                    }
                    if !long[i].1 && far(f) {
                        long[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.emit(&long, &at, &pos);
            }
        }
    }

    /// Where each item starts and where each label points.
    fn layout(&self, long: &[(bool, bool)]) -> (Vec<usize>, Vec<usize>) {
        let mut at = Vec::with_capacity(self.items.len());
        let mut pos = vec![usize::MAX; self.labels];
        let mut pc = 0;
        for (i, item) in self.items.iter().enumerate() {
            at.push(pc);
            pc += match item {
                Item::Stmt(_) | Item::Ja(_) => 1,
                Item::Jump { .. } => 1 + usize::from(long[i].0) + usize::from(long[i].1),
                Item::Place(l) => {
                    pos[l.0] = pc;
                    0
                }
            };
        }
        (at, pos)
    }

    fn emit(&self, long: &[(bool, bool)], at: &[usize], pos: &[usize]) -> Vec<Insn> {
        let mut out = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Stmt(s) => out.push(*s),
                Item::Ja(l) => out.push(Insn { code: op::JA, jt: 0, jf: 0, k: (pos[l.0] - at[i] - 1) as u32 }),
                Item::Jump { code, k, t, f } => {
                    let (lt, lf) = long[i];
                    let base = at[i] + 1;
                    // The trampolines follow the jump: ja t first, then ja f.
                    let jt = if lt { 0 } else { pos[t.0] - base };
                    let jf = if lf { usize::from(lt) } else { pos[f.0] - base };
                    out.push(Insn { code: *code, jt: jt as u8, jf: jf as u8, k: *k });
                    if lt {
                        out.push(Insn { code: op::JA, jt: 0, jf: 0, k: (pos[t.0] - out.len() - 1) as u32 });
                    }
                    if lf {
                        out.push(Insn { code: op::JA, jt: 0, jf: 0, k: (pos[f.0] - out.len() - 1) as u32 });
                    }
                }
                Item::Place(_) => {}
            }
        }
        out
    }
}

/// Runs `prog` on `pkt` as the kernel does (a load past the end drops;
/// `protocol` answers the ancillary protocol load, direction reads as
/// incoming). What it returns: bytes to keep, 0 to drop. Runs the
/// programs of [`super::program`] (others may drop: an opcode it does not
/// know, running off the end); tests and replays filter with it.
pub fn run(prog: &[Insn], pkt: &[u8], protocol: u16) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut pc = 0usize;
    let load = |off: u64, n: usize| -> Option<u32> {
        let off = usize::try_from(off).ok()?;
        let b = pkt.get(off..off.checked_add(n)?)?;
        Some(b.iter().fold(0u32, |acc, &v| (acc << 8) | u32::from(v)))
    };
    loop {
        let Some(&Insn { code, jt, jf, k }) = prog.get(pc) else { return 0 };
        pc += 1;
        let ind = u64::from(x) + u64::from(k);
        let got = match code {
            op::LD_W_ABS | op::LD_H_ABS if k == AD_PROTOCOL => Some(u32::from(protocol)),
            op::LD_W_ABS | op::LD_H_ABS if k == AD_PKTTYPE => Some(0),
            op::LD_W_ABS => load(u64::from(k), 4),
            op::LD_H_ABS => load(u64::from(k), 2),
            op::LD_B_ABS => load(u64::from(k), 1),
            op::LD_W_IND => load(ind, 4),
            op::LD_H_IND => load(ind, 2),
            op::LD_B_IND => load(ind, 1),
            _ => Some(a),
        };
        let Some(v) = got else { return 0 };
        a = v;
        let jump = |c: bool| if c { usize::from(jt) } else { usize::from(jf) };
        match code {
            op::LD_W_ABS | op::LD_H_ABS | op::LD_B_ABS | op::LD_W_IND | op::LD_H_IND | op::LD_B_IND => {}
            op::LDX_IMM => x = k,
            op::LDX_MSH => match load(u64::from(k), 1) {
                Some(b) => x = (b & 0xf) * 4,
                None => return 0,
            },
            op::ADD_K => a = a.wrapping_add(k),
            op::ADD_X => a = a.wrapping_add(x),
            op::OR_K => a |= k,
            op::AND_K => a &= k,
            op::LSH_K => a <<= k,
            op::RSH_K => a >>= k,
            op::TAX => x = a,
            op::JA => pc += k as usize,
            op::JEQ_K => pc += jump(a == k),
            op::JGT_K => pc += jump(a > k),
            op::JGE_K => pc += jump(a >= k),
            op::JSET_K => pc += jump(a & k != 0),
            op::RET_K => return k,
            _ => return 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far targets go through a `ja`; near ones do not; the program still
    /// does what it says.
    #[test]
    fn far_jumps_are_relaxed() {
        for filler in [10u32, 300, 700] {
            let mut a = Asm::default();
            let (yes, no) = (a.label(), a.label());
            a.stmt(op::LD_B_ABS, 0);
            a.jump(op::JEQ_K, 7, yes, no);
            for _ in 0..filler {
                a.stmt(op::ADD_K, 0);
            }
            a.place(no);
            a.ret(0);
            a.place(yes);
            a.ret(99);
            let prog = a.assemble();
            assert_eq!(prog.len() as u32, filler + 4 + if filler > 255 { 2 } else { 0 });
            assert_eq!(run(&prog, &[7], 0), 99);
            assert_eq!(run(&prog, &[8], 0), 0);
            assert_eq!(run(&prog, &[], 0), 0, "a load past the end drops");
            assert!(prog.iter().all(|i| i.code != op::JEQ_K || (i.jt as usize) < 256));
        }
    }
}
