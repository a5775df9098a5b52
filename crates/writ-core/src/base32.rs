//! Lower-case Crockford base32, used for id bodies and secrets: no padding, no ambiguous letters
//! (i, l, o, u), and its alphabet is in ASCII order, so fixed-length encodings sort like the bytes.

pub const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Encodes `bytes` as big-endian base32. Zero bits are added in front to reach a multiple of five,
/// so 16 bytes give 26 characters and 32 bytes give 52, and the order of equal-length inputs is kept.
pub fn encode(bytes: &[u8]) -> String {
    let bits = bytes.len() * 8;
    let chars = bits.div_ceil(5);
    let pad = chars * 5 - bits;
    let mut out = String::with_capacity(chars);
    for i in 0..chars {
        let mut v = 0u8;
        for b in 0..5 {
            let pos = i * 5 + b;
            let bit = if pos < pad {
                0
            } else {
                let p = pos - pad;
                (bytes[p / 8] >> (7 - p % 8)) & 1
            };
            v = (v << 1) | bit;
        }
        out.push(ALPHABET[v as usize] as char);
    }
    out
}

/// Whether `c` is a character of the alphabet.
pub fn is_char(c: u8) -> bool {
    ALPHABET.contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_values_and_keeps_order() {
        assert_eq!(encode(&[0u8; 16]), "0".repeat(26));
        assert_eq!(encode(&[0xff; 16]), format!("7{}", "z".repeat(25)));
        assert_eq!(encode(&[0, 0, 0, 1]), "0000001");
        let a = encode(&[1, 2, 3, 4]);
        let b = encode(&[1, 2, 3, 5]);
        assert!(a < b);
    }
}
