//! The operator: a `service` client granted every admin and guard scope, created once per
//! deployment by `writ serve` (first start) or `writ bootstrap`.

use writ_core::secret::PlainSecret;
use writ_core::{
    ADMIN_AUDIENCE, ADMIN_SCOPES, Actor, AuditEvent, Client, ClientId, ClientKind, GUARD_AUDIENCE,
    GUARD_SCOPES, Grants, Metadata, Name, ResourceUri, ScopeName, ScopeSet, SecretId, Status, TokenTtl,
};
use writ_store::{Audit, Clients, StoreError, SystemState, Tenant};

use crate::Deployment;
use crate::changes::{Change, Publish};
use crate::secrets::new_secret;

const OPERATOR_KEY: &str = "operator_client_id";

/// A credential to hand to the operator. `Debug` does not print the secret.
#[derive(Debug)]
pub struct OperatorCredential {
    pub client_id: ClientId,
    pub client_secret: PlainSecret,
    pub secret_id: SecretId,
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("an operator already exists ({0}); ask for a new secret instead")]
    AlreadyExists(ClientId),
    #[error("no operator exists yet")]
    NoOperator,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invalid(#[from] writ_core::Invalid),
    #[error("no randomness for a secret: {0}")]
    Random(#[from] getrandom::Error),
}

/// The operator's client id, if there is an operator.
pub async fn operator_id(d: &Deployment) -> Result<Option<ClientId>, BootstrapError> {
    let id = SystemState::new(d.store.conn()).get(OPERATOR_KEY).await?;
    Ok(id.as_deref().map(ClientId::parse).transpose()?)
}

/// Whether `id` is the operator's client (which must never be deleted: it is how the operator gets in).
pub async fn is_operator(conn: &impl writ_store::ConnectionTrait, id: &ClientId) -> Result<bool, StoreError> {
    Ok(SystemState::new(conn).get(OPERATOR_KEY).await?.as_deref() == Some(id.as_str()))
}

/// What the operator holds: every scope of the admin and guard APIs.
fn operator_grants() -> Result<Grants, writ_core::Invalid> {
    let mut grants = Grants::new();
    for (aud, scopes) in [(ADMIN_AUDIENCE, ADMIN_SCOPES), (GUARD_AUDIENCE, GUARD_SCOPES)] {
        let set = scopes.iter().map(|(s, _)| ScopeName::parse(s)).collect::<Result<ScopeSet, _>>()?;
        grants.add(ResourceUri::parse(aud)?, set);
    }
    Ok(grants)
}

/// Creates the operator; refuses if one exists (also when two processes race: the second insert of
/// the system-state key fails and its transaction is rolled back).
pub async fn create_operator(d: &Deployment) -> Result<OperatorCredential, BootstrapError> {
    if let Some(id) = operator_id(d).await? {
        return Err(BootstrapError::AlreadyExists(id));
    }
    let grants = operator_grants()?;
    let now = d.clock.now();
    let client = Client {
        id: ClientId::generate(),
        kind: ClientKind::Service,
        name: Name::parse("writ-operator")?,
        status: Status::Active,
        token_ttl: TokenTtl::default(),
        grants,
        metadata: Metadata::default(),
        rate_limits: Default::default(),
        auth_methods: writ_core::AuthMethods::SECRETS,
        delegation: writ_core::Delegation::default(),
        keys: None,
        created_at: now,
        updated_at: now,
    };
    let (plain, secret) = new_secret(&client.id, &d.pepper, now)?;
    let txn = d.store.begin().await?;
    if let Err(e) = SystemState::new(&txn).insert(OPERATOR_KEY, client.id.as_str()).await {
        return Err(match (e, operator_id(d).await?) {
            (StoreError::Conflict(_), Some(id)) => BootstrapError::AlreadyExists(id),
            (e, _) => e.into(),
        });
    }
    Clients::new(&txn, &Tenant::Operator).create(&client, Some(&secret)).await?;
    Audit::new(&txn)
        .record(&AuditEvent::new(Actor::System, None, "operator.created", Some(client.id.to_string())))
        .await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(OperatorCredential { client_id: client.id, client_secret: plain, secret_id: secret.id })
}

/// Repairs the existing operator (for a lost credential, or an operator locked out): restores its
/// grants, its status and its limits, adds a new secret (the old ones keep working until deleted),
/// and tells every running server, which sees it within about a second.
pub async fn repair_operator(d: &Deployment) -> Result<OperatorCredential, BootstrapError> {
    let id = operator_id(d).await?.ok_or(BootstrapError::NoOperator)?;
    let now = d.clock.now();
    let (plain, secret) = new_secret(&id, &d.pepper, now)?;
    let txn = d.store.begin().await?;
    let clients = Clients::new(&txn, &Tenant::Operator).for_update();
    let mut client = clients.get(&id).await?;
    client.grants = operator_grants()?;
    client.status = Status::Active;
    client.rate_limits = Default::default();
    client.updated_at = now;
    clients.update(&client).await?;
    clients.add_secret(&secret).await?;
    Audit::new(&txn)
        .record(
            &AuditEvent::new(Actor::Operator, None, "operator.repaired", Some(id.to_string()))
                .with_details(serde_json::json!({ "secret_id": secret.id.as_str() })),
        )
        .await?;
    txn.commit().await.map_err(StoreError::from)?;
    d.publish(Change::Client(id.clone())).await;
    Ok(OperatorCredential { client_id: id, client_secret: plain, secret_id: secret.id })
}
