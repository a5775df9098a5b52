//! Client secrets: making a new one (its plaintext is shown once; only its keyed hash is stored).

use time::OffsetDateTime;
use writ_core::secret::{Pepper, PlainSecret};
use writ_core::{ClientId, ClientSecret, SecretId};

/// A new secret for `client_id`: the plaintext to show once, and the record to store.
pub fn new_secret(
    client_id: &ClientId,
    pepper: &Pepper,
    now: OffsetDateTime,
) -> Result<(PlainSecret, ClientSecret), getrandom::Error> {
    let plain = PlainSecret::generate()?;
    let record = ClientSecret {
        id: SecretId::generate(),
        client_id: client_id.clone(),
        display_prefix: plain.display_prefix(),
        hash: plain.hash(pepper),
        created_at: now,
        expires_at: None,
        last_used_at: None,
    };
    Ok((plain, record))
}
