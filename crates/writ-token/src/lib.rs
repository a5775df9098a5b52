//! Writ's JOSE layer: the key-encryption key, signing-key generation, access-token signing and
//! verification (RFC 9068), and the JWKS.
//!
//! Invariants: private keys exist in plaintext only in memory, parsed once per key; a token is
//! accepted only with the algorithm of the key named by its `kid` (no `none`, no algorithm
//! confusion); this crate knows no HTTP, database or Redis.

mod claims;
mod kek;
mod keyring;
mod public_keys;

pub use claims::{AccessClaims, Audience};
pub use kek::Kek;
pub use keyring::{KeyRing, LEEWAY_SECONDS, TOKEN_TYPE, generate_key};
pub use public_keys::{
    ACCESS_TOKEN_TYP, ASSERTION_TYP, AssertionSigner, ID_JAG_TYP, Jws, JwsAlg, JwsHeader, PublicKeys, Typ,
    public_jwk_from_pem,
};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown key id")]
    UnknownKey,
    #[error("token header is not acceptable: {0}")]
    BadHeader(&'static str),
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("no active signing key")]
    NoActiveKey,
    #[error("key decryption failed: wrong key-encryption key or corrupt key")]
    Decrypt,
    #[error("crypto: {0}")]
    Crypto(String),
}

impl From<josekit::JoseError> for TokenError {
    fn from(e: josekit::JoseError) -> Self {
        Self::Crypto(e.to_string())
    }
}

impl From<openssl::error::ErrorStack> for TokenError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Crypto(e.to_string())
    }
}
