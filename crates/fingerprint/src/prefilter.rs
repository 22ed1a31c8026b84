//! Required-literal prefilter.
//!
//! For every fingerprint we derive, from its parsed pattern, a small set of
//! literals such that *any* match must contain at least one of them (compared
//! ASCII-case-insensitively). One Aho-Corasick automaton per database finds,
//! in a single pass over the input, which fingerprints can possibly match;
//! only those (plus the few fingerprints without a usable literal) run their
//! regex, still in database order, so "first match wins" is unchanged.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literals shorter than this are not worth filtering on.
const MIN_LITERAL: usize = 3;
/// Alternations with more branches than this are not filtered on.
const MAX_ALTERNATIVES: usize = 24;

/// A set of lowercase literals; any match contains at least one.
type Required = Vec<Vec<u8>>;

fn score(r: &Required) -> (usize, std::cmp::Reverse<usize>) {
    let min = r.iter().map(Vec::len).min().unwrap_or(0);
    (min, std::cmp::Reverse(r.len()))
}

fn better(a: Option<Required>, b: Option<Required>) -> Option<Required> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// If the class matches exactly one byte, or exactly the two cases of one
/// ASCII letter, return that byte (lowercased).
fn class_byte(c: &Class) -> Option<u8> {
    let mut bytes = Vec::new();
    match c {
        Class::Bytes(b) => {
            for r in b.ranges() {
                for x in r.start()..=r.end() {
                    bytes.push(x);
                    if bytes.len() > 2 {
                        return None;
                    }
                }
            }
        }
        Class::Unicode(u) => {
            for r in u.ranges() {
                for x in r.start()..=r.end() {
                    if !x.is_ascii() {
                        return None;
                    }
                    bytes.push(x as u8);
                    if bytes.len() > 2 {
                        return None;
                    }
                }
            }
        }
    }
    match bytes.as_slice() {
        [b] => Some(b.to_ascii_lowercase()),
        [a, b] if a.is_ascii_alphabetic() && a.eq_ignore_ascii_case(b) && a != b => {
            Some(a.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Cap on the size of an exact literal set.
const MAX_SET: usize = 16;

/// The finite set of strings (lowercased) this node matches, if small.
fn exact(h: &Hir) -> Option<Vec<Vec<u8>>> {
    match h.kind() {
        HirKind::Literal(l) => Some(vec![l.0.iter().map(u8::to_ascii_lowercase).collect()]),
        HirKind::Class(c) => class_byte(c).map(|b| vec![vec![b]]),
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Concat(cs) => {
            let mut acc: Vec<Vec<u8>> = vec![Vec::new()];
            for c in cs {
                acc = cross(&acc, &exact(c)?)?;
            }
            Some(acc)
        }
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(exact(a)?);
                if all.len() > MAX_SET {
                    return None;
                }
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        _ => None,
    }
}

fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut v = x.clone();
            v.extend_from_slice(y);
            out.push(v);
        }
    }
    Some(out)
}

fn required(h: &Hir) -> Option<Required> {
    if let Some(set) = exact(h) {
        return set.iter().all(|l| !l.is_empty()).then_some(set);
    }
    match h.kind() {
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(required(a)?);
                if all.len() > MAX_ALTERNATIVES {
                    return None;
                }
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Concat(cs) => {
            let mut best: Option<Required> = None;
            // A run of adjacent exact children, as the set of their concatenations.
            let mut run: Option<Vec<Vec<u8>>> = None;
            let flush = |run: &mut Option<Vec<Vec<u8>>>, best: Option<Required>| match run.take() {
                Some(r) if r.iter().all(|l| !l.is_empty()) => better(best, Some(r)),
                _ => best,
            };
            for c in cs {
                if let Some(e) = exact(c) {
                    let joined = match &run {
                        Some(r) => cross(r, &e),
                        None => Some(e.clone()),
                    };
                    match joined {
                        Some(j) => run = Some(j),
                        None => {
                            best = flush(&mut run, best);
                            run = Some(e);
                        }
                    }
                    continue;
                }
                best = flush(&mut run, best);
                best = better(best, required(c));
            }
            flush(&mut run, best)
        }
        _ => None,
    }
}

/// The literals to filter a fingerprint on, or `None` if it must always run.
pub(crate) fn literals_for(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    required(hir).filter(|r| score(r).0 >= MIN_LITERAL)
}

/// Per-database prefilter.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    ac: Option<AhoCorasick>,
    /// Fingerprint index for each Aho-Corasick pattern.
    owner: Vec<u32>,
    /// Fingerprints without literals, ascending.
    always: Vec<u32>,
}

impl Prefilter {
    pub(crate) fn build(per_fp: &[Option<Vec<Vec<u8>>>]) -> Prefilter {
        let mut pats: Vec<&[u8]> = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        for (i, lits) in per_fp.iter().enumerate() {
            match lits {
                Some(ls) => {
                    for l in ls {
                        pats.push(l);
                        owner.push(i as u32);
                    }
                }
                None => always.push(i as u32),
            }
        }
        let ac = if pats.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .ok()
        };
        if ac.is_none() {
            // Could not build an automaton: every fingerprint must run.
            return Prefilter {
                ac: None,
                owner: Vec::new(),
                always: (0..per_fp.len() as u32).collect(),
            };
        }
        Prefilter { ac, owner, always }
    }

    /// Call `f` with candidate fingerprint indices in ascending order until it
    /// returns `Some`.
    pub(crate) fn find<T>(&self, text: &[u8], mut f: impl FnMut(usize) -> Option<T>) -> Option<T> {
        let mut hits = Cands::default();
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text) {
                hits.push(self.owner[m.pattern().as_usize()]);
            }
        }
        let hits = hits.sorted();
        // Merge the two ascending lists.
        let (mut i, mut j) = (0, 0);
        let always = &self.always;
        let mut last = u32::MAX;
        while i < hits.len() || j < always.len() {
            let next = match (hits.get(i), always.get(j)) {
                (Some(&a), Some(&b)) if a <= b => {
                    i += 1;
                    a
                }
                (Some(_), Some(&b)) => {
                    j += 1;
                    b
                }
                (Some(&a), None) => {
                    i += 1;
                    a
                }
                (None, Some(&b)) => {
                    j += 1;
                    b
                }
                (None, None) => break,
            };
            if next == last {
                continue;
            }
            last = next;
            if let Some(t) = f(next as usize) {
                return Some(t);
            }
        }
        None
    }
}

/// Small candidate list that stays on the stack for the common case.
#[derive(Default)]
struct Cands {
    inline: [u32; 16],
    len: usize,
    spill: Vec<u32>,
}

impl Cands {
    fn push(&mut self, v: u32) {
        if self.len < self.inline.len() {
            self.inline[self.len] = v;
            self.len += 1;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline);
            }
            self.spill.push(v);
        }
    }

    fn sorted(&mut self) -> &[u32] {
        if self.spill.is_empty() {
            let s = &mut self.inline[..self.len];
            s.sort_unstable();
            s
        } else {
            self.spill.sort_unstable();
            &self.spill
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_syntax::ParserBuilder;

    fn lits(p: &str) -> Option<Vec<Vec<u8>>> {
        let hir = ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .multi_line(true)
            .build()
            .parse(p)
            .unwrap();
        literals_for(&hir)
    }

    fn s(v: &[&str]) -> Option<Vec<Vec<u8>>> {
        Some(v.iter().map(|x| x.as_bytes().to_vec()).collect())
    }

    #[test]
    fn extracts_longest_required_literal() {
        assert_eq!(
            lits(r"^([^ ]+) ESMTP Postfix(?: \((.+)\))?$"),
            s(&[" esmtp postfix"])
        );
        assert_eq!(lits(r"(?i)^foo (\d+) barbaz"), s(&[" barbaz"]));
        assert_eq!(
            lits(r"^(?:Exim|Sendmail) (\d+)"),
            s(&["exim ", "sendmail "])
        );
        assert_eq!(
            lits(r"^(\S+) ESMTP (mfa|cm)-m\d+$"),
            s(&[" esmtp cm-m", " esmtp mfa-m"])
        );
        assert_eq!(lits(r"^.*$"), None);
        assert_eq!(lits(r"^a(?:bc)?d"), None);
    }

    #[test]
    fn candidates_are_in_order_and_include_always() {
        let pf = Prefilter::build(&[s(&["zzz"]), None, s(&["abc"]), s(&["abc", "xyz"])]);
        let mut seen = Vec::new();
        let r: Option<()> = pf.find(b"--ABC--xyz", |i| {
            seen.push(i);
            None
        });
        assert!(r.is_none());
        assert_eq!(seen, vec![1, 2, 3]);
    }
}
