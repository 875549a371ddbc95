//! Mutations of seed inputs: at the JSON value level (a leaf replaced by a
//! value at a rule's edge, a key dropped, a container nested deeper) and at
//! the byte level (flips, cuts, splices of tokens). Written here rather
//! than taken from a fuzzing engine: cargo-fuzz needs a nightly toolchain,
//! and these few rules, driven by a seeded generator, make every run
//! repeatable from its seed.

use serde_json::{json, Value};

/// xorshift64*: small, fast, and the same sequence for the same seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings at the edges of the rules: empty, long, non-ASCII (the zone
/// slicing that once panicked), separators, escapes, surrogates.
const STRINGS: &[&str] = &[
    "",
    " ",
    "é",
    "eu-west-1é",
    "日本",
    "a/b",
    "../..",
    "%00",
    "\u{0}",
    "\u{feff}x",
    "24:00",
    "8:00",
    "23:59",
    "ami-",
    "lt-0123",
    "$Latest",
    "origin",
    "edge",
    "eu-west-1",
    "eu-west-1a",
    "live/cam1",
    "sfe.x.y.1.z",
    "sfn..",
];

fn edge_value(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(0),
        3 => json!(-1),
        4 => json!(u64::MAX),
        5 => json!(i64::MIN),
        6 => json!(1.5e300),
        7 => json!(4_294_967_296u64),
        8 => json!([]),
        9 => json!({}),
        10 => Value::from("x".repeat(rng.below(5000))),
        _ => Value::from(*rng.pick(STRINGS)),
    }
}

/// A copy of `value` with one change somewhere in it.
pub fn mutate_value(rng: &mut Rng, value: &Value) -> Value {
    let mut out = value.clone();
    let depth = rng.below(4);
    change(rng, &mut out, depth);
    out
}

fn change(rng: &mut Rng, value: &mut Value, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() && depth > 0 => {
            let key = map.keys().nth(rng.below(map.len())).cloned().expect("not empty");
            change(rng, map.get_mut(&key).expect("present"), depth - 1);
        }
        Value::Array(items) if !items.is_empty() && depth > 0 => {
            let i = rng.below(items.len());
            change(rng, &mut items[i], depth - 1);
        }
        Value::Object(map) => match rng.below(4) {
            0 if !map.is_empty() => {
                let key = map.keys().nth(rng.below(map.len())).cloned().expect("not empty");
                map.remove(&key);
            }
            1 => {
                map.insert((*rng.pick(STRINGS)).to_owned(), edge_value(rng));
            }
            2 => *value = json!([value.clone()]),
            _ => *value = edge_value(rng),
        },
        Value::Array(items) => match rng.below(3) {
            0 => items.push(edge_value(rng)),
            1 => {
                let copy = items.clone();
                items.extend(copy.into_iter().cycle().take(rng.below(600)));
            }
            _ => *value = edge_value(rng),
        },
        _ => *value = edge_value(rng),
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\"",
    b"\\",
    b"null",
    b"1e999",
    b"-0",
    b"\\u0000",
    b"\\ud800",
    b"\xc3",
    b"\xff",
    b" ",
    b"\n",
    b"{\"a\":1}",
    b"99999999999999999999",
];

/// `bytes` with a few byte-level changes.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] ^= 1 << rng.below(8);
            }
            1 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let token = rng.pick(TOKENS);
                bytes.splice(at..at, token.iter().copied());
            }
            3 => bytes.truncate(at),
            _ => {
                let end = (at + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
}

/// A mutated input from a seed: half of them still JSON (value-level
/// changes), half of them bytes that may be anything.
pub fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(seed) {
        Ok(value) if rng.below(2) == 0 => {
            let mut text = serde_json::to_vec(&mutate_value(rng, &value)).expect("a value serializes");
            if rng.below(8) == 0 {
                duplicate_a_key(rng, &mut text);
            }
            text
        }
        _ => {
            let mut bytes = seed.to_vec();
            mutate_bytes(rng, &mut bytes);
            bytes
        }
    }
}

/// `{"a":1,...}` → `{"a":1,"a":1,...}` somewhere: strict JSON refuses it.
fn duplicate_a_key(rng: &mut Rng, text: &mut Vec<u8>) {
    let starts: Vec<usize> =
        text.windows(2).enumerate().filter(|(_, w)| w == b"{\"").map(|(i, _)| i + 1).collect();
    if starts.is_empty() {
        return;
    }
    let start = *rng.pick(&starts);
    let Some(end) = text[start..].iter().position(|b| *b == b',' || *b == b'}').map(|p| start + p) else {
        return;
    };
    let member = text[start..end].to_vec();
    let mut insert = member;
    insert.push(b',');
    text.splice(start..start, insert);
}
