//! People's passwords: argon2id (19 MiB, two passes: the crate's defaults, OWASP's minimum) keyed
//! with a secret derived from the deployment's pepper, so a copy of the database alone cannot be
//! used to guess passwords offline. A hash takes ~18 ms of one core: it runs on the blocking pool,
//! at most one per core at a time, so a burst of logins queues instead of starving the token
//! endpoint's workers. Checking a login whose user does not exist (or has no password) verifies
//! against a hash of nothing, so it takes as long as a real one.

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use writ_core::Password;
use writ_core::secret::Pepper;

/// One hash at a time per core.
static PERMITS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)));

/// The argon2 secret: the pepper under a name of its own, never the pepper itself.
fn secret(pepper: &Pepper) -> [u8; 32] {
    pepper.keyed_hash(b"writ password hashing")
}

fn hasher(secret: &[u8]) -> Option<Argon2<'_>> {
    Argon2::new_with_secret(secret, Algorithm::Argon2id, Version::V0x13, Params::default()).ok()
}

/// The PHC string of `password` (`$argon2id$v=19$…`), or `None` if hashing failed.
pub async fn hash(pepper: &Pepper, password: &Password) -> Option<String> {
    let secret = secret(pepper);
    let password = password.clone();
    run(move || {
        let hash: PasswordHash = hasher(&secret)?.hash_password(password.expose().as_bytes()).ok()?;
        Some(hash.to_string())
    })
    .await
    .flatten()
}

/// Whether `password` matches `hash`. With no hash, a dummy one is checked, and the answer is
/// no: the caller cannot tell a missing user from a wrong password by the time it took.
pub async fn verify(pepper: &Pepper, password: &str, hash: Option<&str>) -> bool {
    // The longest password anyone may set, in bytes; longer input cannot match, and is not
    // hashed in full (the dummy check still runs, on a bounded input).
    const MAX_BYTES: usize = Password::MAX_CHARS * 4;
    let secret = secret(pepper);
    let real = hash.filter(|_| password.len() <= MAX_BYTES).map(str::to_owned);
    let input: Vec<u8> = password.as_bytes().iter().copied().take(MAX_BYTES).collect();
    run(move || {
        let stored = real.as_deref().unwrap_or(&DUMMY);
        let ok = PasswordHash::new(stored)
            .ok()
            .zip(hasher(&secret))
            .is_some_and(|(parsed, argon)| argon.verify_password(&input, &parsed).is_ok());
        ok && real.is_some()
    })
    .await
    .unwrap_or(false)
}

/// A hash of nothing anyone knows, with the parameters of real ones, checked for missing users.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let mut salt_and_password = [0u8; 32];
    let _ = getrandom::fill(&mut salt_and_password);
    let hash: Result<PasswordHash, _> = Argon2::default().hash_password(&salt_and_password);
    hash.map(|h| h.to_string()).unwrap_or_default()
});

/// Runs `f` on the blocking pool under a permit; `None` if the task failed.
async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = PERMITS.acquire().await.ok()?;
    tokio::task::spawn_blocking(f).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_hash_under_its_pepper_only() {
        let pepper = Pepper::new([3; 32]);
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash(&pepper, &password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify(&pepper, "correct horse battery", Some(&hash)).await);
        assert!(!verify(&pepper, "correct horse batterx", Some(&hash)).await);
        assert!(!verify(&Pepper::new([4; 32]), "correct horse battery", Some(&hash)).await, "another pepper");
        assert!(!verify(&pepper, "correct horse battery", None).await, "no hash is never a match");
        assert!(!verify(&pepper, "correct horse battery", Some("not a phc string")).await);
        let long = "x".repeat(Password::MAX_CHARS * 4 + 1);
        assert!(!verify(&pepper, &long, Some(&hash)).await);
    }
}
