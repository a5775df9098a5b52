//! `client_secret_basic` and `client_secret_post` (RFC 6749 §2.3.1): the client id and a secret
//! Writ generated, in HTTP Basic or in the body. Secrets are keyed hashes compared in constant time
//! (docs/architecture.md), so checking one costs microseconds.

use base64::Engine;
use writ_core::secret::{PlainSecret, SecretHash};
use writ_core::{AuthMethod, ClientId};

use super::{Authenticated, ClientAuth};
use crate::challenge::Challenge;
use crate::context::Context;
use crate::token::{OAuthError, Params};

pub const BASIC: &str = "client_secret_basic";
pub const POST: &str = "client_secret_post";

/// A client id and the secret presented with it, as sent (nothing is checked yet). `Debug` leaves
/// the secret out.
pub struct SecretCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for SecretCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The client's credentials from `Authorization: Basic` (both parts are form-urlencoded before
/// base64) or from the body. Using both is refused; a request with none is answered with a Basic
/// challenge, the method every client supports.
pub fn parse(authorization: Option<&str>, params: &Params) -> Result<ClientAuth, OAuthError> {
    let Some(header) = authorization else {
        return match (&params.client_id, &params.client_secret) {
            (Some(id), Some(secret)) => Ok(ClientAuth::SecretPost(SecretCredentials {
                client_id: id.clone(),
                client_secret: secret.clone(),
            })),
            _ => Err(OAuthError::invalid_client_basic()),
        };
    };
    let (scheme, encoded) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        // A bearer token (or anything else) does not authenticate a client here (RFC 6749 §5.2).
        return Err(OAuthError::invalid_client_basic());
    }
    if params.client_secret.is_some() {
        return Err(OAuthError::InvalidRequest(
            "credentials in both the Authorization header and the body".into(),
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(OAuthError::invalid_client_basic)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(OAuthError::invalid_client_basic)?;
    let client_id = form_decode(id);
    if params.client_id.as_ref().is_some_and(|body_id| *body_id != client_id) {
        return Err(OAuthError::InvalidRequest(
            "client_id in the body differs from the Authorization header".into(),
        ));
    }
    Ok(ClientAuth::SecretBasic(SecretCredentials { client_id, client_secret: form_decode(secret) }))
}

/// Decodes one application/x-www-form-urlencoded value (`+` is a space, `%XX` a byte).
fn form_decode(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space).decode_utf8_lossy().into_owned()
}

/// Checks the secret; `before_load` runs only if the client must be read from the database. Every
/// failure — malformed secret, unknown client, wrong or expired secret, a client that may not use
/// `method` — is the same `invalid_client`; an unknown client still pays for a hash comparison,
/// so timing does not tell which it was.
pub async fn authenticate(
    ctx: &Context,
    creds: &SecretCredentials,
    method: AuthMethod,
    challenge: Option<Challenge>,
    before_load: impl std::future::Future<Output = Result<(), OAuthError>>,
) -> Result<Authenticated, OAuthError> {
    let fail = || OAuthError::InvalidClient { challenge: challenge.clone() };
    // A malformed secret (bad prefix or checksum) is refused before any lookup.
    let secret = PlainSecret::parse(&creds.client_secret).map_err(|_| fail())?;
    let presented = secret.hash(&ctx.pepper);
    let client_id = ClientId::parse(&creds.client_id).ok();
    let loaded = match &client_id {
        Some(id) => ctx.client_credentials_unless(id, before_load).await?.map_err(|e| {
            tracing::error!(error = %e, "loading client credentials failed");
            OAuthError::Server
        })?,
        None => None,
    };
    let now = ctx.clock.now();
    let Some(loaded) = loaded else {
        let _ = presented.matches(&SecretHash([0; 32]));
        return Err(fail());
    };
    // Compare against every usable secret without stopping early.
    let matched = loaded
        .secrets
        .iter()
        .filter(|s| s.is_usable(now))
        .fold(None, |found, s| if s.hash.matches(&presented) { Some(s.id.clone()) } else { found });
    match matched {
        Some(secret_id) if loaded.client.auth_methods.allows(method) => Ok(Authenticated {
            client: loaded,
            secret_id: Some(secret_id),
            method,
            key_id: None,
            federation: None,
        }),
        _ => Err(fail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Params::parse("application/x-www-form-urlencoded", body.as_bytes()).unwrap()
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds =
            || SecretCredentials { client_id: "cli_a".into(), client_secret: "writ_cs_hunter2".into() };
        let shown = format!("{:?} {:?}", creds(), ClientAuth::SecretPost(creds()));
        assert!(shown.contains("cli_a") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn form_decoding_follows_rfc_6749_appendix_b() {
        assert_eq!(form_decode("a%3Ab+c%25"), "a:b c%");
        assert_eq!(form_decode("plain"), "plain");
    }

    #[test]
    fn basic_or_body_but_never_both() {
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("cli_a:s%3Ac"));
        let Ok(ClientAuth::SecretBasic(c)) = parse(Some(&basic), &params(&[])) else { panic!("not basic") };
        assert_eq!((c.client_id.as_str(), c.client_secret.as_str()), ("cli_a", "s:c"));
        let post = params(&[("client_id", "cli_a"), ("client_secret", "s")]);
        assert!(matches!(parse(None, &post), Ok(ClientAuth::SecretPost(_))));
        assert!(matches!(parse(Some(&basic), &post), Err(OAuthError::InvalidRequest(_))));
        let other = params(&[("client_id", "cli_b")]);
        assert!(matches!(parse(Some(&basic), &other), Err(OAuthError::InvalidRequest(_))));
        assert_eq!(parse(None, &params(&[])).unwrap_err(), OAuthError::invalid_client_basic());
        assert_eq!(parse(Some("Bearer x"), &params(&[])).unwrap_err(), OAuthError::invalid_client_basic());
        assert_eq!(parse(Some("Basic !!"), &params(&[])).unwrap_err(), OAuthError::invalid_client_basic());
    }
}
