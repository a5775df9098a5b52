//! The key-encryption key: AES-256-GCM over private keys at rest. It comes from configuration,
//! never from the database, so a database dump alone does not yield signing keys.

use std::fmt;

use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use zeroize::{Zeroize, Zeroizing};

use crate::TokenError;

const NONCE: usize = 12;
const TAG: usize = 16;

#[derive(Clone)]
pub struct Kek([u8; 32]);

impl Kek {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Encrypts `plaintext`, binding it to `aad` (the key id), as `nonce ‖ ciphertext ‖ tag`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, TokenError> {
        let mut nonce = [0u8; NONCE];
        openssl::rand::rand_bytes(&mut nonce)?;
        let mut tag = [0u8; TAG];
        let ct = encrypt_aead(Cipher::aes_256_gcm(), &self.0, Some(&nonce), aad, plaintext, &mut tag)?;
        Ok([&nonce[..], &ct, &tag].concat())
    }

    /// The plaintext, wiped from memory when dropped.
    pub fn decrypt(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        if sealed.len() < NONCE + TAG {
            return Err(TokenError::Decrypt);
        }
        let (nonce, rest) = sealed.split_at(NONCE);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        decrypt_aead(Cipher::aes_256_gcm(), &self.0, Some(nonce), aad, ct, tag)
            .map(Zeroizing::new)
            .map_err(|_| TokenError::Decrypt)
    }
}

/// Wiped from memory when dropped.
impl Drop for Kek {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_tampering_and_wrong_keys() {
        let kek = Kek::new([3; 32]);
        let sealed = kek.encrypt(b"private key", b"key_1").unwrap();
        assert_eq!(kek.decrypt(&sealed, b"key_1").unwrap().as_slice(), b"private key");
        assert!(kek.decrypt(&sealed, b"key_2").is_err(), "bound to its key id");
        assert!(Kek::new([4; 32]).decrypt(&sealed, b"key_1").is_err());
        let mut bad = sealed.clone();
        bad[NONCE] ^= 1;
        assert!(kek.decrypt(&bad, b"key_1").is_err());
        assert_ne!(kek.encrypt(b"private key", b"key_1").unwrap(), sealed, "fresh nonce each time");
    }
}
