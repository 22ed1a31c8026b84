//! Structural skipping of the containers the report never reads, in the
//! manner of simdjson's On-Demand API: 64 bytes at a time, bit masks of
//! quotes, backslashes, control bytes and brackets show where strings are and
//! where the container closes, without looking at the grammar in between.
//!
//! What is checked inside a skipped array or object (everything else about
//! the line is checked by the full parser):
//!
//! - brackets are balanced and each closes the kind that was opened
//!   (`[` with `]`, `{` with `}`), at most [`MAX_DEPTH`] deep in all;
//! - every string is closed on the line, its escapes are valid (`\"`, `\\`,
//!   `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u` and four hex digits), and it
//!   has no raw control byte (below 0x20);
//! - outside strings there is no backslash and no control byte other than
//!   JSON whitespace (tab, line feed, carriage return).
//!
//! Not checked inside them: the placement of `,` and `:`, that keys are
//! strings, the grammar of numbers and of `true`/`false`/`null` (any other
//! bytes outside strings are let through), and surrogate pairing in `\u`
//! escapes. So `{"x":[1 2]}` or `{"x":{"a" 1,}}` are accepted where a full
//! JSON parser would reject them.

use crate::parse::{MAX_DEPTH, Msg};

/// Bit masks of one 64-byte block: bit `i` stands for byte `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// `"`
    pub quote: u64,
    /// `\`
    pub bslash: u64,
    /// Bytes below 0x20.
    pub ctl: u64,
    /// `{` or `[`
    pub open: u64,
    /// `}` or `]`
    pub close: u64,
}

/// Classify a block (SSE2, part of every x86-64 CPU).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn classify(b: &[u8; 64]) -> Masks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut m = Masks::default();
    // SAFETY: SSE2 is enabled at compile time (checked by the cfg above);
    // every load reads 16 bytes at offsets 0, 16, 32 and 48 of a 64-byte
    // array, so within bounds (unaligned loads are allowed).
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let bslash = _mm_set1_epi8(b'\\' as i8);
        let case = _mm_set1_epi8(0x20);
        let open = _mm_set1_epi8(b'{' as i8);
        let close = _mm_set1_epi8(b'}' as i8);
        let ctl = _mm_set1_epi8(0x1f);
        for k in 0..4 {
            let v = _mm_loadu_si128(b.as_ptr().add(16 * k).cast::<__m128i>());
            let bits = |x| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
            m.quote |= bits(_mm_cmpeq_epi8(v, quote));
            m.bslash |= bits(_mm_cmpeq_epi8(v, bslash));
            // '[' | 0x20 == '{' and ']' | 0x20 == '}'.
            let folded = _mm_or_si128(v, case);
            m.open |= bits(_mm_cmpeq_epi8(folded, open));
            m.close |= bits(_mm_cmpeq_epi8(folded, close));
            // min(v, 0x1f) == v exactly when v <= 0x1f.
            m.ctl |= bits(_mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        }
    }
    m
}

/// Where the plain run of a string ends in 16 bytes: bit `i` of the first
/// mask is set when `b[i]` is `"`, `\\` or a control byte, bit `i` of the
/// second when `b[i]` is `"` (SSE2).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn string_stops(b: &[u8; 16]) -> (u32, u32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is enabled at compile time (checked by the cfg above);
    // the load reads the 16 bytes of the array (unaligned loads are allowed).
    unsafe {
        let v = _mm_loadu_si128(b.as_ptr().cast::<__m128i>());
        let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let bs = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let stops = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, bs), ctl)) as u32;
        (stops, _mm_movemask_epi8(q) as u32)
    }
}

/// [`string_stops`], portable.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn string_stops(b: &[u8; 16]) -> (u32, u32) {
    string_stops_scalar(b)
}

/// [`string_stops`] one byte at a time (its reference).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn string_stops_scalar(b: &[u8; 16]) -> (u32, u32) {
    let (mut stops, mut quotes) = (0, 0);
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' || c == b'\\' || c < 0x20 {
            stops |= 1 << i;
        }
        if c == b'"' {
            quotes |= 1 << i;
        }
    }
    (stops, quotes)
}

/// Classify a block (portable).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline]
pub(crate) fn classify(b: &[u8; 64]) -> Masks {
    classify_scalar(b)
}

/// Classify a block one byte at a time (the reference for [`classify`]).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn classify_scalar(b: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &c) in b.iter().enumerate() {
        let bit = 1u64 << i;
        match c {
            b'"' => m.quote |= bit,
            b'\\' => m.bslash |= bit,
            b'{' | b'[' => m.open |= bit,
            b'}' | b']' => m.close |= bit,
            0..0x20 => m.ctl |= bit,
            _ => {}
        }
    }
    m
}

/// Bit `i` set when byte `i` follows an odd run of backslashes; `carry` says
/// whether the previous block's last byte was such a backslash, and is set
/// for the next block.
#[inline]
fn escaped(bslash: u64, carry: &mut bool) -> u64 {
    let mut esc = 0u64;
    let mut rest = bslash;
    if *carry {
        esc = 1;
        rest &= !1;
    }
    *carry = false;
    while rest != 0 {
        let i = rest.trailing_zeros();
        if i == 63 {
            *carry = true;
            break;
        }
        // This backslash escapes byte i + 1, whatever that is.
        esc |= 2 << i;
        rest &= !(3u64 << i);
    }
    esc
}

/// Bit `i` is the parity of the set bits at positions `0..=i`.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Bits `0..=i`.
#[inline]
fn through(i: u32) -> u64 {
    if i >= 63 { !0 } else { (2u64 << i) - 1 }
}

/// Skip the array or object whose opening bracket is at `b[start]`, at
/// nesting `depth`; returns the index after its closing bracket, or what is
/// wrong and where. Uses AVX2 where the CPU has it.
#[inline(never)]
pub(crate) fn skip_container(b: &[u8], start: usize, depth: u32) -> Result<usize, (Msg, usize)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { avx2::skip_container(b, start, depth) };
    }
    skip_container_with(b, start, depth, classify)
}

/// The AVX2 build of [`skip_container`].
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Masks, Msg, skip_container_with};
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };

    /// [`super::skip_container`] with AVX2 classification.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn skip_container(
        b: &[u8],
        start: usize,
        depth: u32,
    ) -> Result<usize, (Msg, usize)> {
        skip_container_with(b, start, depth, |block| {
            // SAFETY: this function's caller promises AVX2.
            unsafe { classify(block) }
        })
    }

    /// [`super::classify`] 32 bytes at a time.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn classify(b: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        // SAFETY: AVX2 is promised by the caller; the loads read 32 bytes at
        // offsets 0 and 32 of a 64-byte array (unaligned loads are allowed).
        unsafe {
            let quote = _mm256_set1_epi8(b'"' as i8);
            let bslash = _mm256_set1_epi8(b'\\' as i8);
            let case = _mm256_set1_epi8(0x20);
            let open = _mm256_set1_epi8(b'{' as i8);
            let close = _mm256_set1_epi8(b'}' as i8);
            let ctl = _mm256_set1_epi8(0x1f);
            for k in 0..2 {
                let v = _mm256_loadu_si256(b.as_ptr().add(32 * k).cast::<__m256i>());
                let bits = |x| u64::from(_mm256_movemask_epi8(x) as u32) << (32 * k);
                m.quote |= bits(_mm256_cmpeq_epi8(v, quote));
                m.bslash |= bits(_mm256_cmpeq_epi8(v, bslash));
                let folded = _mm256_or_si256(v, case);
                m.open |= bits(_mm256_cmpeq_epi8(folded, open));
                m.close |= bits(_mm256_cmpeq_epi8(folded, close));
                m.ctl |= bits(_mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl), v));
            }
        }
        m
    }
}

/// [`skip_container`] with the given block classifier.
#[inline(always)]
fn skip_container_with(
    b: &[u8],
    start: usize,
    depth: u32,
    classify: impl Fn(&[u8; 64]) -> Masks,
) -> Result<usize, (Msg, usize)> {
    let mut pos = start;
    let mut in_string = false;
    let mut esc_carry = false;
    // Kinds of the open brackets, innermost in bit 0 (1 = object).
    let mut kinds: u128 = 0;
    let mut level: u32 = 0;
    loop {
        if pos >= b.len() {
            return Err((Msg::Eof, b.len()));
        }
        let rest = &b[pos..];
        let (m, valid) = match rest.first_chunk::<64>() {
            Some(block) => (classify(block), !0u64),
            None => {
                let mut pad = [b' '; 64];
                pad[..rest.len()].copy_from_slice(rest);
                (classify(&pad), (1u64 << rest.len()) - 1)
            }
        };
        let esc = escaped(m.bslash, &mut esc_carry);
        let mut strings = prefix_xor(m.quote & !esc);
        if in_string {
            strings = !strings;
        }
        // Brackets outside strings, in order, until the container closes.
        let mut brackets = (m.open | m.close) & !strings & valid;
        let mut mine = valid;
        let mut end = None;
        while brackets != 0 {
            let i = brackets.trailing_zeros();
            let object = b[pos + i as usize] & 0x20 != 0;
            if m.open & (1 << i) != 0 {
                if depth + level >= MAX_DEPTH {
                    return Err((Msg::Recursion, pos + i as usize));
                }
                kinds = (kinds << 1) | u128::from(object);
                level += 1;
            } else {
                if (kinds & 1 == 1) != object {
                    return Err((Msg::MismatchedBracket, pos + i as usize));
                }
                kinds >>= 1;
                level -= 1;
                if level == 0 {
                    mine &= through(i);
                    end = Some(pos + i as usize + 1);
                    break;
                }
            }
            brackets &= brackets - 1;
        }
        check(b, pos, &m, esc & mine, strings, mine)?;
        if let Some(e) = end {
            return Ok(e);
        }
        in_string = strings >> 63 == 1;
        pos += 64;
    }
}

/// Validate the bytes of a block that belong to the container (`mine`):
/// control bytes, backslashes outside strings, escapes.
#[inline]
fn check(
    b: &[u8],
    pos: usize,
    m: &Masks,
    esc: u64,
    strings: u64,
    mine: u64,
) -> Result<(), (Msg, usize)> {
    let at = |bits: u64| pos + bits.trailing_zeros() as usize;
    let ctl_in = m.ctl & strings & mine;
    if ctl_in != 0 {
        return Err((Msg::ControlChar, at(ctl_in)));
    }
    let stray = m.bslash & !strings & mine;
    if stray != 0 {
        return Err((Msg::Stray, at(stray)));
    }
    let mut ctl_out = m.ctl & !strings & mine;
    while ctl_out != 0 {
        let i = at(ctl_out);
        if !matches!(b[i], b'\t' | b'\r' | b'\n') {
            return Err((Msg::Stray, i));
        }
        ctl_out &= ctl_out - 1;
    }
    let mut e = esc;
    while e != 0 {
        let i = at(e);
        match b[i] {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
            b'u' => {
                let hex = b.get(i + 1..i + 5);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err((Msg::InvalidEscape, i));
                }
            }
            _ => return Err((Msg::InvalidEscape, i)),
        }
        e &= e - 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnd(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn classify_agrees_with_the_byte_loop() {
        let alphabet = b"\"\\{}[]\x00\x01\x1f\x20\x7f\x80\xffaz09:, \t";
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut block = [0u8; 64];
            for c in &mut block {
                let r = rnd(&mut s);
                *c = if r & 1 == 0 {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                } else {
                    (r >> 16) as u8
                };
            }
            assert_eq!(classify(&block), classify_scalar(&block), "{block:?}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is there (checked just above).
                let m = unsafe { avx2::classify(&block) };
                assert_eq!(m, classify_scalar(&block), "{block:?}");
            }
            let half: &[u8; 16] = block.first_chunk().unwrap_or(&[0; 16]);
            assert_eq!(string_stops(half), string_stops_scalar(half), "{half:?}");
        }
    }

    #[test]
    fn escapes_follow_odd_runs_of_backslashes_across_blocks() {
        let mut carry = false;
        // Backslashes at 0, 1 (a pair), 3 (escapes 4), 62 and 63 (a pair).
        let bs = 0b1011 | (3 << 62);
        assert_eq!(escaped(bs, &mut carry), 1 << 4 | 1 << 1 | 1 << 63);
        assert!(!carry);
        // A lone backslash at 63 escapes byte 0 of the next block.
        assert_eq!(escaped(1 << 63, &mut carry), 0);
        assert!(carry);
        // ... which is itself a backslash, so byte 1 (a backslash too) is
        // not escaped, and escapes byte 2.
        assert_eq!(escaped(0b11, &mut carry), 0b101);
        assert!(!carry);
    }

    #[test]
    fn prefix_xor_is_running_parity() {
        let mut s = 1u64;
        for _ in 0..1000 {
            let x = rnd(&mut s);
            let mut want = 0u64;
            let mut p = 0u64;
            for i in 0..64 {
                p ^= (x >> i) & 1;
                want |= p << i;
            }
            assert_eq!(prefix_xor(x), want);
        }
    }

    /// Skip with the dispatching entry point and with the SSE2/portable
    /// classifier, which must agree.
    fn skip(s: &str) -> Result<usize, Msg> {
        let b = s.as_bytes();
        let r = skip_container(b, 0, 0);
        assert_eq!(r, skip_container_with(b, 0, 0, classify), "{s}");
        assert_eq!(r, skip_container_with(b, 0, 0, classify_scalar), "{s}");
        r.map_err(|e| e.0)
    }

    #[test]
    fn finds_the_matching_bracket() {
        let long = format!(
            r#"{{"a":"{}","b":[1,{{"c":"]\"}}"}}]}} tail"#,
            "x".repeat(150)
        );
        assert_eq!(skip(&long), Ok(long.len() - 5));
        assert_eq!(skip("[]"), Ok(2));
        assert_eq!(skip(r#"{"k":"\\"} x"#), Ok(10));
        // Closing brackets inside strings do not count, at any block offset.
        for pad in 0..130 {
            let s = format!(r#"["{}\"]\\]",[]]"#, "y".repeat(pad));
            assert_eq!(skip(&s), Ok(s.len()), "{pad}");
            // Runs of backslashes across a block boundary: `\\\"` is an
            // escaped backslash, then an escaped quote.
            let s = format!(r#"{{"{}":"\\\"]","z":"\\"}}"#, "k".repeat(pad));
            assert_eq!(skip(&s), Ok(s.len()), "{pad}");
            let cut = format!(r#"["{}\\\"]"#, "k".repeat(pad));
            assert_eq!(skip(&cut), Err(Msg::Eof), "{pad}");
        }
    }

    #[test]
    fn structurally_broken_containers_are_errors() {
        for (s, want) in [
            ("[1,2", Msg::Eof),
            (r#"{"a":"b}"#, Msg::Eof),
            ("[1}", Msg::MismatchedBracket),
            (r#"{"a":[}]"#, Msg::MismatchedBracket),
            ("[\"a\u{1}\"]", Msg::ControlChar),
            (r#"["\q"]"#, Msg::InvalidEscape),
            (r#"["\u12g4"]"#, Msg::InvalidEscape),
            (r#"["\u12"]"#, Msg::InvalidEscape),
            (r#"[1,\"a"]"#, Msg::Stray),
            ("[1,\u{0}2]", Msg::Stray),
        ] {
            assert_eq!(skip(s), Err(want), "{s}");
        }
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert_eq!(skip(&deep), Err(Msg::Recursion));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(skip(&ok), Ok(256));
        // The depth given counts towards the limit.
        assert_eq!(
            skip_container(b"[[]]", 0, 127).map_err(|e| e.0),
            Err(Msg::Recursion)
        );
    }

    #[test]
    fn grammar_inside_is_not_checked() {
        for s in [
            r#"[1 2]"#,
            r#"{"a" 1,}"#,
            "[tru, 01, -]",
            "{1:2}",
            "[\t1,\r2]",
        ] {
            assert_eq!(skip(s), Ok(s.len()), "{s}");
        }
    }

    #[test]
    fn errors_after_the_container_are_not_its_own() {
        assert_eq!(skip("[1] \u{1}\\"), Ok(3));
    }
}
