//! The classic BPF socket filter for the receiver.

/// Bytes of an accepted packet the filter asks the kernel to keep (as tcpdump's default).
pub const BPF_ACCEPT_LEN: u32 = 262_144;

/// One classic BPF instruction, layout-compatible with the kernel's `struct sock_filter`
/// (so a `&[BpfInsn]` can be passed as `sock_fprog.filter` to `SO_ATTACH_FILTER`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BpfInsn {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

// Opcode parts (linux/filter.h).
pub(crate) const LD: u16 = 0x00;
pub(crate) const LDX: u16 = 0x01;
pub(crate) const ALU: u16 = 0x04;
pub(crate) const JMP: u16 = 0x05;
pub(crate) const RET: u16 = 0x06;
pub(crate) const H: u16 = 0x08;
pub(crate) const B: u16 = 0x10;
pub(crate) const ABS: u16 = 0x20;
pub(crate) const IND: u16 = 0x40;
pub(crate) const MSH: u16 = 0xa0;
pub(crate) const AND: u16 = 0x50;
pub(crate) const JEQ: u16 = 0x10;
pub(crate) const JGT: u16 = 0x20;
pub(crate) const JGE: u16 = 0x30;
pub(crate) const JSET: u16 = 0x40;
pub(crate) const K: u16 = 0x00;

/// Jump targets of the filter program.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Next,
    Tcp,
    Icmp,
    Accept,
    Reject,
}

enum Item {
    Insn(u16, Label, Label, u32),
    Here(Label),
}

fn op(code: u16, k: u32) -> Item {
    Item::Insn(code, Label::Next, Label::Next, k)
}

fn jmp(code: u16, k: u32, jt: Label, jf: Label) -> Item {
    Item::Insn(JMP | code | K, jt, jf, k)
}

/// Resolves labels into relative jump offsets.
fn assemble(items: &[Item]) -> Vec<BpfInsn> {
    let mut at = Vec::new();
    let mut n = 0usize;
    for it in items {
        match it {
            Item::Insn(..) => n += 1,
            Item::Here(l) => at.push((*l, n)),
        }
    }
    let pos = |l: Label| at.iter().find(|(x, _)| *x == l).map(|(_, p)| *p);
    let mut out = Vec::with_capacity(n);
    for it in items {
        if let Item::Insn(code, jt, jf, k) = *it {
            let here = out.len();
            let rel = |l: Label| -> u8 {
                if l == Label::Next {
                    return 0;
                }
                let target = pos(l).expect("every label used is placed");
                u8::try_from(target - here - 1).expect("short forward jump")
            };
            out.push(BpfInsn {
                code,
                jt: rel(jt),
                jf: rel(jf),
                k,
            });
        }
    }
    out
}

/// A classic BPF program over Ethernet frames that accepts exactly:
///
/// * IPv4 (ethertype 0x0800) that is not a fragment (MF clear and offset 0), and
/// * either TCP with destination port in `sport_first ..= sport_last` and SYN+ACK both set or
///   RST set, or ICMP type 3 (destination unreachable).
///
/// The IPv4 header length is taken from the packet (`ldxb 4*([14]&0xf)`). Accepted packets are
/// kept up to [`BPF_ACCEPT_LEN`] bytes. With `sport_first > sport_last` no TCP is accepted.
pub fn bpf_program(sport_first: u16, sport_last: u16) -> Vec<BpfInsn> {
    use Label::*;
    const TCP_FLAGS_SYNACK: u32 = 0x12;
    const TCP_FLAG_RST: u32 = 0x04;
    assemble(&[
        op(LD | H | ABS, 12), // ethertype
        jmp(JEQ, 0x0800, Next, Reject),
        op(LD | H | ABS, 20), // IPv4 flags + fragment offset
        jmp(JSET, 0x3fff, Reject, Next),
        op(LD | B | ABS, 23), // IPv4 protocol
        jmp(JEQ, 6, Tcp, Next),
        jmp(JEQ, 1, Icmp, Reject),
        Item::Here(Tcp),
        op(LDX | B | MSH, 14),    // X = IPv4 header length
        op(LD | H | IND, 14 + 2), // TCP destination port
        jmp(JGE, u32::from(sport_first), Next, Reject),
        jmp(JGT, u32::from(sport_last), Reject, Next),
        op(LD | B | IND, 14 + 13), // TCP flags
        jmp(JSET, TCP_FLAG_RST, Accept, Next),
        op(ALU | AND | K, TCP_FLAGS_SYNACK),
        jmp(JEQ, TCP_FLAGS_SYNACK, Accept, Reject),
        Item::Here(Icmp),
        op(LDX | B | MSH, 14),
        op(LD | B | IND, 14), // ICMP type
        jmp(JEQ, 3, Accept, Reject),
        Item::Here(Accept),
        op(RET | K, BPF_ACCEPT_LEN),
        Item::Here(Reject),
        op(RET | K, 0),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small classic BPF interpreter with the kernel's semantics for the opcodes it knows:
    /// loads past the end of the packet end the program with 0 (drop).
    fn run(prog: &[BpfInsn], pkt: &[u8]) -> u32 {
        let (mut a, mut x): (u32, u32) = (0, 0);
        let mut mem = [0u32; 16];
        let mut pc = 0usize;
        let load = |off: u32, size: u16| -> Option<u32> {
            let off = usize::try_from(off).ok()?;
            let n = match size {
                0x00 => 4,
                H => 2,
                B => 1,
                _ => return None,
            };
            let bytes = pkt.get(off..off.checked_add(n)?)?;
            Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        };
        loop {
            let i = prog[pc];
            pc += 1;
            let size = i.code & 0x18;
            let mode = i.code & 0xe0;
            match i.code & 0x07 {
                LD => {
                    a = match mode {
                        0x00 => i.k,
                        ABS => match load(i.k, size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        IND => match load(x.wrapping_add(i.k), size) {
                            Some(v) => v,
                            None => return 0,
                        },
                        0x60 => mem[i.k as usize],
                        0x80 => pkt.len() as u32,
                        _ => panic!("bad LD mode {:#x}", i.code),
                    }
                }
                LDX => {
                    x = match mode {
                        0x00 => i.k,
                        MSH => match load(i.k, B) {
                            Some(v) => (v & 0xf) * 4,
                            None => return 0,
                        },
                        0x60 => mem[i.k as usize],
                        0x80 => pkt.len() as u32,
                        _ => panic!("bad LDX mode {:#x}", i.code),
                    }
                }
                0x02 => mem[i.k as usize] = a,
                0x03 => mem[i.k as usize] = x,
                ALU => {
                    let v = if i.code & 0x08 != 0 { x } else { i.k };
                    a = match i.code & 0xf0 {
                        0x00 => a.wrapping_add(v),
                        0x10 => a.wrapping_sub(v),
                        0x20 => a.wrapping_mul(v),
                        0x30 if v == 0 => return 0,
                        0x30 => a / v,
                        0x40 => a | v,
                        AND => a & v,
                        0x60 => a.wrapping_shl(v),
                        0x70 => a.wrapping_shr(v),
                        0x80 => a.wrapping_neg(),
                        _ => panic!("bad ALU op {:#x}", i.code),
                    }
                }
                JMP => {
                    let v = if i.code & 0x08 != 0 { x } else { i.k };
                    let cond = match i.code & 0xf0 {
                        0x00 => {
                            pc += i.k as usize;
                            continue;
                        }
                        JEQ => a == v,
                        JGT => a > v,
                        JGE => a >= v,
                        JSET => a & v != 0,
                        _ => panic!("bad JMP op {:#x}", i.code),
                    };
                    pc += usize::from(if cond { i.jt } else { i.jf });
                }
                RET => {
                    return match i.code & 0x18 {
                        0x10 => a,
                        0x08 => x,
                        _ => i.k,
                    };
                }
                0x07 => {
                    if i.code & 0xf8 == 0 {
                        x = a
                    } else {
                        a = x
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    /// The kernel checker's structural rules: non-empty, at most 4096 instructions, every jump
    /// lands inside the program, and the last instruction returns.
    fn check(prog: &[BpfInsn]) {
        assert!(!prog.is_empty() && prog.len() <= 4096);
        for (pc, i) in prog.iter().enumerate() {
            if i.code & 0x07 == JMP {
                assert!(
                    pc + 1 + usize::from(i.jt) < prog.len(),
                    "jt out of range at {pc}"
                );
                assert!(
                    pc + 1 + usize::from(i.jf) < prog.len(),
                    "jf out of range at {pc}"
                );
            }
        }
        assert_eq!(prog.last().unwrap().code & 0x07, RET);
    }

    /// Frame builder: Ethernet + IPv4 (optional options) + a transport payload.
    struct F {
        ethertype: u16,
        ihl: u8,
        frag: u16,
        proto: u8,
        l4: Vec<u8>,
    }

    impl F {
        fn tcp(dport: u16, flags: u8) -> F {
            let mut l4 = vec![0u8; 20];
            l4[0..2].copy_from_slice(&25u16.to_be_bytes());
            l4[2..4].copy_from_slice(&dport.to_be_bytes());
            l4[12] = 0x50;
            l4[13] = flags;
            F {
                ethertype: 0x0800,
                ihl: 5,
                frag: 0x4000,
                proto: 6,
                l4,
            }
        }

        fn icmp(ty: u8) -> F {
            let mut l4 = vec![0u8; 36];
            l4[0] = ty;
            F {
                ethertype: 0x0800,
                ihl: 5,
                frag: 0,
                proto: 1,
                l4,
            }
        }

        fn build(&self) -> Vec<u8> {
            let mut f = vec![0u8; 14];
            f[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
            let hl = usize::from(self.ihl) * 4;
            let mut ip = vec![0u8; hl.max(20)];
            ip[0] = 0x40 | self.ihl;
            let total = (ip.len() + self.l4.len()) as u16;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[6..8].copy_from_slice(&self.frag.to_be_bytes());
            ip[8] = 55;
            ip[9] = self.proto;
            ip[12..16].copy_from_slice(&[198, 19, 4, 4]);
            ip[16..20].copy_from_slice(&[198, 18, 0, 1]);
            for (i, b) in ip.iter_mut().enumerate().skip(20) {
                *b = if i % 4 == 0 { 1 } else { 0 }; // NOP options
            }
            f.extend_from_slice(&ip);
            f.extend_from_slice(&self.l4);
            f
        }
    }

    const SYNACK: u8 = 0x12;
    const RST: u8 = 0x04;

    #[test]
    fn program_is_well_formed() {
        let p = bpf_program(32768, 61000);
        check(&p);
        assert_eq!(std::mem::size_of::<BpfInsn>(), 8);
        assert_eq!(std::mem::align_of::<BpfInsn>(), 4);
        // The variable header length load is the documented msh form: ldxb 4*([14]&0xf).
        assert!(p.contains(&BpfInsn {
            code: 0xb1,
            jt: 0,
            jf: 0,
            k: 14
        }));
    }

    #[test]
    fn accepts_replies_to_our_ports() {
        let p = bpf_program(40000, 40099);
        for (dport, flags) in [
            (40000, SYNACK),
            (40099, SYNACK),
            (40050, SYNACK | 0x08),
            (40050, RST),
            (40050, RST | 0x10),
            (40001, SYNACK | RST),
        ] {
            let f = F::tcp(dport, flags).build();
            assert_eq!(
                run(&p, &f),
                BPF_ACCEPT_LEN,
                "dport {dport} flags {flags:#x}"
            );
        }
        assert_eq!(run(&p, &F::icmp(3).build()), BPF_ACCEPT_LEN);
    }

    #[test]
    fn uses_real_ip_header_length() {
        let p = bpf_program(40000, 40099);
        for ihl in 6..=15 {
            let mut f = F::tcp(40010, SYNACK);
            f.ihl = ihl;
            assert_eq!(run(&p, &f.build()), BPF_ACCEPT_LEN, "ihl {ihl}");
            // The same options but the port out of range must drop: proves X offsets the read.
            let mut g = F::tcp(39999, SYNACK);
            g.ihl = ihl;
            assert_eq!(run(&p, &g.build()), 0, "ihl {ihl}");
            let mut i = F::icmp(3);
            i.ihl = ihl;
            assert_eq!(run(&p, &i.build()), BPF_ACCEPT_LEN);
            let mut j = F::icmp(0);
            j.ihl = ihl;
            assert_eq!(run(&p, &j.build()), 0);
        }
    }

    #[test]
    fn rejects_everything_else() {
        let p = bpf_program(40000, 40099);
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("port below", F::tcp(39999, SYNACK).build()),
            ("port above", F::tcp(40100, SYNACK).build()),
            ("SYN only", F::tcp(40010, 0x02).build()),
            ("ACK only", F::tcp(40010, 0x10).build()),
            ("FIN ACK", F::tcp(40010, 0x11).build()),
            ("PSH ACK", F::tcp(40010, 0x18).build()),
            ("no flags", F::tcp(40010, 0).build()),
            ("ICMP echo reply", F::icmp(0).build()),
            ("ICMP time exceeded", F::icmp(11).build()),
            ("empty", Vec::new()),
            ("runt", vec![0u8; 13]),
        ];
        let mut arp = F::tcp(40010, SYNACK);
        arp.ethertype = 0x0806;
        cases.push(("ARP", arp.build()));
        let mut v6 = F::tcp(40010, SYNACK);
        v6.ethertype = 0x86dd;
        cases.push(("IPv6 ethertype", v6.build()));
        let mut udp = F::tcp(40010, SYNACK);
        udp.proto = 17;
        cases.push(("UDP", udp.build()));
        for frag in [0x2000, 0x0001, 0x1fff, 0x4001, 0x6000] {
            let mut f = F::tcp(40010, SYNACK);
            f.frag = frag;
            cases.push(("fragment", f.build()));
        }
        let mut trunc = F::tcp(40010, SYNACK).build();
        trunc.truncate(14 + 20 + 13); // flags byte missing
        cases.push(("truncated TCP", trunc));
        for (what, f) in &cases {
            assert_eq!(run(&p, f), 0, "{what} must be dropped");
        }
    }

    #[test]
    fn single_port_and_empty_ranges() {
        let p = bpf_program(61000, 61000);
        assert_eq!(run(&p, &F::tcp(61000, SYNACK).build()), BPF_ACCEPT_LEN);
        assert_eq!(run(&p, &F::tcp(61001, SYNACK).build()), 0);
        assert_eq!(run(&p, &F::tcp(60999, RST).build()), 0);
        let none = bpf_program(2, 1);
        check(&none);
        for port in 0..5 {
            assert_eq!(run(&none, &F::tcp(port, SYNACK).build()), 0);
        }
        assert_eq!(run(&none, &F::icmp(3).build()), BPF_ACCEPT_LEN);
        let all = bpf_program(0, 65535);
        assert_eq!(run(&all, &F::tcp(0, RST).build()), BPF_ACCEPT_LEN);
        assert_eq!(run(&all, &F::tcp(65535, SYNACK).build()), BPF_ACCEPT_LEN);
    }

    #[test]
    fn interpreter_sanity() {
        // Guard the interpreter itself with hand-assembled programs of known meaning.
        let ret_len = [
            BpfInsn {
                code: LD | 0x80,
                jt: 0,
                jf: 0,
                k: 0,
            },
            BpfInsn {
                code: RET | 0x10,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ];
        assert_eq!(run(&ret_len, &[0; 42]), 42);
        let oob = [
            BpfInsn {
                code: LD | ABS,
                jt: 0,
                jf: 0,
                k: 40,
            },
            BpfInsn {
                code: RET | K,
                jt: 0,
                jf: 0,
                k: 7,
            },
        ];
        assert_eq!(run(&oob, &[0; 43]), 0);
        assert_eq!(run(&oob, &[0; 44]), 7);
    }
}
