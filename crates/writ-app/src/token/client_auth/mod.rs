//! How a client proves who it is at the token endpoint (RFC 6749 §2.3): one variant and one module
//! per method (`secret.rs`, `private_key_jwt.rs`, `federated.rs`, `none.rs` for public clients).
//! A new method is a variant here and a module beside them; discovery lists [`METHODS`].
//! A client uses only the methods its `auth_methods` allow.

mod assertion;
pub mod federated;
pub mod none;
pub mod private_key_jwt;
pub mod secret;

pub use assertion::KeyCache;
pub(crate) use assertion::{audiences, check_times, unverified_claims};

use std::sync::Arc;

use writ_core::{AuthMethod, FederatedCredentialId, SecretId};
use writ_store::ClientCredentials;

use super::{OAuthError, Params};
use crate::challenge::Challenge;
use crate::context::Context;

/// The client authentication of one request, parsed (not yet checked).
#[derive(Debug)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    SecretBasic(secret::SecretCredentials),
    /// `client_secret_post`: `client_id` and `client_secret` in the body.
    SecretPost(secret::SecretCredentials),
    /// `private_key_jwt`: an assertion signed with one of the client's keys.
    PrivateKeyJwt(private_key_jwt::Assertion),
    /// A token from a trusted issuer, standing for the client through a federated credential.
    Federated(federated::FederatedAssertion),
    /// `none`: a public client's `client_id`, alone.
    None(String),
}

/// The methods the token, revocation and introspection endpoints accept, as discovery names them.
pub const METHODS: &[&str] = &[secret::BASIC, secret::POST, private_key_jwt::METHOD, none::METHOD];

/// A client whose credentials held, and what it proved them with.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub client: Arc<ClientCredentials>,
    /// The secret that matched, for secret methods (audited, and its last use recorded).
    pub secret_id: Option<SecretId>,
    pub method: AuthMethod,
    /// The `kid` of the key that signed its assertion, if it named one (audited).
    pub key_id: Option<String>,
    /// Who the client was through a federated credential (audited; the credential goes into the
    /// token's `cred`, so removing it revokes the token).
    pub federation: Option<Federation>,
}

/// The external identity behind a federated authentication.
#[derive(Debug, Clone)]
pub struct Federation {
    pub issuer: String,
    pub subject: String,
    pub credential: FederatedCredentialId,
}

/// The client a request names (by its id, or by its metadata document's URL), if it exists and
/// may use `method`; otherwise `fail`'s refusal, whose reason is logged. `before_load` runs only on
/// a cache miss of a registered client.
async fn client_for(
    ctx: &Context,
    client_id: &str,
    method: AuthMethod,
    before_load: impl std::future::Future<Output = Result<(), OAuthError>>,
    fail: impl Fn(&str) -> OAuthError,
) -> Result<Arc<ClientCredentials>, OAuthError> {
    use crate::delegation::url_clients::{self, UrlClientError};
    let loaded = if writ_core::cimd::ClientIdUrl::looks_like(client_id) {
        // A metadata document's URL may cost a fetch: an address over its failure limit is
        // refused first, as for an id this instance has not loaded.
        before_load.await?;
        match url_clients::resolve(ctx, client_id).await {
            Some(Ok(loaded)) => Some(loaded),
            Some(Err(UrlClientError::Unavailable)) => return Err(OAuthError::Server),
            Some(Err(e)) => return Err(fail(&e.to_string())),
            None => None,
        }
    } else {
        let Ok(id) = writ_core::ClientId::parse(client_id) else { return Err(fail("no such client")) };
        ctx.client_credentials_unless(&id, before_load).await?.map_err(|e| {
            tracing::error!(error = %e, "loading client credentials failed");
            OAuthError::Server
        })?
    };
    let Some(loaded) = loaded else { return Err(fail("no such client")) };
    if loaded.client.delegation.expired(|| ctx.clock.now()) {
        return Err(fail("its registration ended"));
    }
    if !loaded.client.auth_methods.allows(method) {
        return Err(fail(&format!("the client may not use {}", method.as_str())));
    }
    Ok(loaded)
}

/// Records that an assertion's `jti` was used within `scope`, until `exp`: a replay is `fail`'s
/// refusal; a replay store that cannot be reached refuses too (`temporarily_unavailable`), never
/// lets it pass.
pub(crate) async fn use_once(
    ctx: &Context,
    scope: &str,
    jti: &str,
    exp: i64,
    fail: impl Fn(&str) -> OAuthError,
) -> Result<(), OAuthError> {
    match ctx.guard.first_use(scope, jti, exp, ctx.clock.unix()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(fail("replayed (jti seen before)")),
        Err(e) => {
            tracing::warn!(error = %e, "replay store unreachable: refusing assertions");
            Err(OAuthError::Unavailable)
        }
    }
}

impl Authenticated {
    /// The credential the token's `cred` names: the secret or the federated credential.
    pub fn credential(&self) -> Option<&str> {
        self.secret_id
            .as_ref()
            .map(SecretId::as_str)
            .or_else(|| self.federation.as_ref().map(|f| f.credential.as_str()))
    }
}

impl ClientAuth {
    /// Reads the client authentication of a request from its `Authorization` header and its body.
    pub fn parse(authorization: Option<&str>, params: &Params) -> Result<Self, OAuthError> {
        if params.client_assertion.is_some() || params.client_assertion_type.is_some() {
            return private_key_jwt::parse(authorization, params);
        }
        match (authorization, &params.client_id, &params.client_secret) {
            (None, Some(id), None) => Ok(Self::None(id.clone())),
            _ => secret::parse(authorization, params),
        }
    }

    /// The client id the request claims (unverified).
    pub fn client_id(&self) -> &str {
        match self {
            Self::SecretBasic(c) | Self::SecretPost(c) => &c.client_id,
            Self::PrivateKeyJwt(a) => &a.client_id,
            Self::Federated(a) => &a.client_id,
            Self::None(id) => id,
        }
    }

    /// The method's name, as discovery lists it.
    pub fn method(&self) -> &'static str {
        match self {
            Self::SecretBasic(_) => secret::BASIC,
            Self::SecretPost(_) => secret::POST,
            Self::PrivateKeyJwt(_) | Self::Federated(_) => private_key_jwt::METHOD,
            Self::None(_) => none::METHOD,
        }
    }

    /// What a failure to authenticate answers with in `WWW-Authenticate` (RFC 6749 §5.2: when the
    /// client used the Authorization header).
    pub fn challenge(&self) -> Option<Challenge> {
        match self {
            Self::SecretBasic(_) | Self::None(_) => Some(Challenge::Basic),
            Self::SecretPost(_) | Self::PrivateKeyJwt(_) | Self::Federated(_) => None,
        }
    }

    /// Checks the credentials. Every failure is `invalid_client`, whatever its cause;
    /// `before_load` runs only when the client is not in the cache, and may refuse (429) before the
    /// database is read.
    pub async fn authenticate(
        &self,
        ctx: &Context,
        before_load: impl std::future::Future<Output = Result<(), OAuthError>>,
    ) -> Result<Authenticated, OAuthError> {
        match self {
            Self::SecretBasic(c) => {
                secret::authenticate(ctx, c, AuthMethod::ClientSecretBasic, self.challenge(), before_load)
                    .await
            }
            Self::SecretPost(c) => {
                secret::authenticate(ctx, c, AuthMethod::ClientSecretPost, None, before_load).await
            }
            Self::PrivateKeyJwt(a) => private_key_jwt::authenticate(ctx, a, before_load).await,
            Self::Federated(a) => federated::authenticate(ctx, a, before_load).await,
            Self::None(id) => none::authenticate(ctx, id, before_load).await,
        }
    }
}
