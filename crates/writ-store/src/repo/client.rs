//! Clients and their secrets, and the credentials the token endpoint loads for a client id.

use writ_core::delegation::RedirectUri;
use writ_core::{Delegation, GrantKinds, RefreshLifetimes};

use super::*;

pub struct Clients<'c, C> {
    c: &'c C,
    tenant: &'c Tenant,
    lock: bool,
}

impl<'c, C: ConnectionTrait> Clients<'c, C> {
    pub fn new(c: &'c C, tenant: &'c Tenant) -> Self {
        Self { c, tenant, lock: false }
    }

    /// See [`Orgs::for_update`].
    pub fn for_update(self) -> Self {
        Self { lock: true, ..self }
    }

    /// Deletes a client with its secrets and grants.
    pub async fn delete(&self, id: &ClientId) -> Result<()> {
        let res = clients::Entity::delete_many()
            .filter(clients::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// The ids of the clients acting for `user`.
    pub async fn of_user(&self, user: &UserId) -> Result<Vec<ClientId>> {
        let rows = clients::Entity::find()
            .filter(clients::Column::UserId.eq(user.as_str()))
            .filter(self.visible())
            .all(self.c)
            .await?;
        rows.iter().map(|r| parse(ClientId::parse, &r.id)).collect()
    }

    fn visible(&self) -> Condition {
        self.tenant.scope(clients::Column::OrgId)
    }

    fn owns(&self, kind: &ClientKind) -> bool {
        self.tenant.owns(kind.org_id())
    }

    /// Creates a client, its grants and its first secret (a client without secret methods has
    /// none).
    pub async fn create(&self, client: &Client, secret: Option<&ClientSecret>) -> Result<()> {
        if !self.owns(&client.kind) {
            return Err(StoreError::NotFound);
        }
        clients::Entity::insert(client_row(client)).exec(self.c).await?;
        grants::replace(self.c, GrantTable::ClientGrants, client.id.as_str(), &client.grants, "grants")
            .await?;
        match secret {
            Some(secret) => self.add_secret(secret).await,
            None => Ok(()),
        }
    }

    /// Creates many clients with their grants and first secrets (imports, benchmark seeding): on
    /// Postgres one statement per table for the whole batch, elsewhere multi-row statements. A
    /// million clients take seconds on SQLite and tens of seconds on Postgres.
    pub async fn create_many(&self, batch: &[(Client, ClientSecret)]) -> Result<()> {
        if batch.iter().any(|(c, _)| !self.owns(&c.kind)) {
            return Err(StoreError::NotFound);
        }
        let owners: Vec<(&str, &Grants)> = batch.iter().map(|(c, _)| (c.id.as_str(), &c.grants)).collect();
        if self.c.get_database_backend() != DbBackend::Postgres {
            for chunk in batch.chunks(500) {
                clients::Entity::insert_many(chunk.iter().map(|(c, _)| client_row(c))).exec(self.c).await?;
                client_secrets::Entity::insert_many(chunk.iter().map(|(_, s)| secret_row(s)))
                    .exec(self.c)
                    .await?;
            }
            return grants::insert_many(self.c, GrantTable::ClientGrants, &owners, "grants").await;
        }
        let clients = batch
            .iter()
            .map(|(c, _)| {
                serde_json::json!({
                    "id": c.id.as_str(),
                    "kind": c.kind.name(),
                    "org_id": c.kind.org_id().map(OrgId::as_str),
                    "user_id": c.kind.user_id().map(UserId::as_str),
                    "name": c.name.as_str(),
                    "status": enum_name(&c.status),
                    "token_ttl_seconds": c.token_ttl.seconds(),
                    "metadata": metadata_text(&c.metadata),
                    "rate_limits": limits_text(&c.rate_limits),
                    "created_at": json_time(c.created_at),
                    "updated_at": json_time(c.updated_at),
                })
            })
            .collect();
        insert_json(
            self.c,
            "clients",
            "id text, kind text, org_id text, user_id text, name text, status text, token_ttl_seconds int, \
             metadata text, rate_limits text, created_at timestamptz, updated_at timestamptz",
            clients,
        )
        .await?;
        grants::insert_many(self.c, GrantTable::ClientGrants, &owners, "grants").await?;
        let secrets = batch
            .iter()
            .map(|(_, s)| {
                let hex: String = s.hash.0.iter().map(|b| format!("{b:02x}")).collect();
                serde_json::json!({
                    "id": s.id.as_str(),
                    "client_id": s.client_id.as_str(),
                    "display_prefix": s.display_prefix,
                    "hash": format!("\\x{hex}"),
                    "created_at": json_time(s.created_at),
                    "expires_at": s.expires_at.map(json_time),
                    "last_used_at": s.last_used_at.map(json_time),
                })
            })
            .collect();
        insert_json(
            self.c,
            "client_secrets",
            "id text, client_id text, display_prefix text, hash bytea, created_at timestamptz, \
             expires_at timestamptz, last_used_at timestamptz",
            secrets,
        )
        .await
    }

    /// Writes a client's name, status, TTL, metadata, limits, authentication, grants and when its
    /// registration ends. Its kind, org, metadata document URL and registration token never
    /// change.
    pub async fn update(&self, client: &Client) -> Result<()> {
        let (jwks, jwks_uri) = keys_text(client.keys.as_ref());
        let res = clients::Entity::update_many()
            .col_expr(clients::Column::Name, Expr::value(client.name.as_str()))
            .col_expr(clients::Column::Status, Expr::value(enum_name(&client.status)))
            .col_expr(
                clients::Column::TokenTtlSeconds,
                Expr::value(i32::try_from(client.token_ttl.seconds()).unwrap_or(i32::MAX)),
            )
            .col_expr(clients::Column::Metadata, Expr::value(metadata_text(&client.metadata)))
            .col_expr(clients::Column::RateLimits, Expr::value(limits_text(&client.rate_limits)))
            .col_expr(clients::Column::AuthMethods, Expr::value(client.auth_methods.to_string()))
            .col_expr(clients::Column::Jwks, Expr::value(jwks))
            .col_expr(clients::Column::JwksUri, Expr::value(jwks_uri))
            .col_expr(clients::Column::ClientType, Expr::value(client.delegation.client_type.as_str()))
            .col_expr(clients::Column::RedirectUris, Expr::value(redirect_uris_text(&client.delegation)))
            .col_expr(clients::Column::GrantTypes, Expr::value(client.delegation.grant_types.to_string()))
            .col_expr(clients::Column::RequirePar, Expr::value(client.delegation.require_par))
            .col_expr(
                clients::Column::RefreshIdleSeconds,
                Expr::value(Some(seconds(client.delegation.refresh.idle))),
            )
            .col_expr(
                clients::Column::RefreshAbsoluteSeconds,
                Expr::value(Some(seconds(client.delegation.refresh.absolute))),
            )
            .col_expr(
                clients::Column::RegistrationExpiresAt,
                Expr::value(client.delegation.registration.and_then(|r| r.expires_at)),
            )
            .col_expr(clients::Column::UpdatedAt, Expr::value(client.updated_at))
            .filter(clients::Column::Id.eq(client.id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        grants::replace(self.c, GrantTable::ClientGrants, client.id.as_str(), &client.grants, "grants").await
    }

    /// Deletes every secret of a visible client (it no longer authenticates with secrets); returns
    /// their ids.
    pub async fn delete_secrets(&self, client_id: &ClientId) -> Result<Vec<SecretId>> {
        let ids = self.secrets(client_id).await?.into_iter().map(|s| s.id).collect();
        client_secrets::Entity::delete_many()
            .filter(client_secrets::Column::ClientId.eq(client_id.as_str()))
            .exec(self.c)
            .await?;
        Ok(ids)
    }

    /// Deletes one secret of a visible client.
    pub async fn delete_secret(&self, client_id: &ClientId, secret_id: &SecretId) -> Result<()> {
        self.get_row(client_id).await?;
        let res = client_secrets::Entity::delete_many()
            .filter(client_secrets::Column::Id.eq(secret_id.as_str()))
            .filter(client_secrets::Column::ClientId.eq(client_id.as_str()))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// Deletes the client's secrets that expired at or before `now`; returns how many.
    pub async fn purge_expired_secrets(&self, client_id: &ClientId, now: OffsetDateTime) -> Result<u64> {
        self.get_row(client_id).await?;
        let res = client_secrets::Entity::delete_many()
            .filter(client_secrets::Column::ClientId.eq(client_id.as_str()))
            .filter(client_secrets::Column::ExpiresAt.lte(now))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected)
    }

    pub async fn add_secret(&self, s: &ClientSecret) -> Result<()> {
        // The client must be visible to this tenant before a secret is attached to it.
        self.get_row(&s.client_id).await?;
        client_secrets::Entity::insert(secret_row(s)).exec(self.c).await?;
        Ok(())
    }

    async fn get_row(&self, id: &ClientId) -> Result<clients::Model> {
        locked(clients::Entity::find_by_id(id.as_str()), self.lock)
            .filter(self.visible())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Whether the operator disabled the client (and only the operator may enable it again).
    pub async fn disabled_by_operator(&self, id: &ClientId) -> Result<bool> {
        Ok(self.get_row(id).await?.disabled_by_operator)
    }

    /// Records whether the operator disabled the client.
    pub async fn set_disabled_by_operator(&self, id: &ClientId, by_operator: bool) -> Result<()> {
        let res = clients::Entity::update_many()
            .col_expr(clients::Column::DisabledByOperator, Expr::value(by_operator))
            .filter(clients::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// The client standing for the metadata document at `url`, if Writ has met it.
    pub async fn by_metadata_url(&self, url: &writ_core::cimd::ClientIdUrl) -> Result<Option<Client>> {
        let row = clients::Entity::find()
            .filter(clients::Column::MetadataUrl.eq(url.as_str()))
            .filter(self.visible())
            .one(self.c)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut g = grants::load(self.c, GrantTable::ClientGrants, &[&row.id]).await?;
        client_from_row(row, &mut g).map(Some)
    }

    pub async fn get(&self, id: &ClientId) -> Result<Client> {
        let row = self.get_row(id).await?;
        let mut g = grants::load(self.c, GrantTable::ClientGrants, &[&row.id]).await?;
        client_from_row(row, &mut g)
    }

    /// Clients in id order; `org` narrows an operator's list to one org.
    pub async fn list(&self, page: &Page, org: Option<&OrgId>) -> Result<Paged<Client>> {
        let mut q = clients::Entity::find().filter(self.visible());
        if let Some(org) = org {
            q = q.filter(clients::Column::OrgId.eq(org.as_str()));
        }
        let (rows, next) =
            paged(self.c, q, clients::Column::Id, page, |m: &clients::Model| m.id.clone()).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut g = grants::load(self.c, GrantTable::ClientGrants, &ids).await?;
        let items = rows.into_iter().map(|r| client_from_row(r, &mut g)).collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }

    pub async fn secrets(&self, id: &ClientId) -> Result<Vec<ClientSecret>> {
        self.get_row(id).await?;
        secrets_of(self.c, id).await
    }
}

/// A client's secrets, without checking that the client is visible.
async fn secrets_of(c: &impl ConnectionTrait, id: &ClientId) -> Result<Vec<ClientSecret>> {
    let rows = client_secrets::Entity::find()
        .filter(client_secrets::Column::ClientId.eq(id.as_str()))
        .order_by_asc(client_secrets::Column::Id)
        .all(c)
        .await?;
    let mut secrets = rows.into_iter().map(secret_from_row).collect::<Result<Vec<_>>>()?;
    // Collected in place, the vector would keep the rows' larger allocation (it is cached).
    secrets.shrink_to_fit();
    Ok(secrets)
}

/// The keys the `jwks` and `jwks_uri` columns of row `id` hold.
pub(super) fn keys_from(id: &str, jwks: Option<&str>, uri: Option<&str>) -> Result<Option<KeySource>> {
    Ok(match (jwks, uri) {
        (Some(jwks), None) => Some(KeySource::Jwks(Arc::new(
            serde_json::from_str(jwks).map_err(|_| StoreError::Corrupt(format!("jwks of {id}")))?,
        ))),
        (None, Some(uri)) => Some(KeySource::JwksUri(FetchUrl::parse(uri)?)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(StoreError::Corrupt(format!("{id} has jwks and jwks_uri"))),
    })
}

/// The `jwks` and `jwks_uri` columns of a client's or a trusted issuer's keys.
pub(super) fn keys_text(keys: Option<&KeySource>) -> (Option<String>, Option<String>) {
    match keys {
        Some(KeySource::Jwks(jwks)) => (Some(jwks.to_string()), None),
        Some(KeySource::JwksUri(uri)) => (None, Some(uri.to_string())),
        None => (None, None),
    }
}

fn client_row(client: &Client) -> clients::ActiveModel {
    let (jwks, jwks_uri) = keys_text(client.keys.as_ref());
    clients::ActiveModel {
        id: Set(client.id.to_string()),
        kind: Set(client.kind.name().to_owned()),
        org_id: Set(client.kind.org_id().map(ToString::to_string)),
        user_id: Set(client.kind.user_id().map(ToString::to_string)),
        name: Set(client.name.to_string()),
        status: Set(enum_name(&client.status)),
        token_ttl_seconds: Set(i32::try_from(client.token_ttl.seconds()).unwrap_or(i32::MAX)),
        metadata: Set(metadata_text(&client.metadata)),
        rate_limits: Set(limits_text(&client.rate_limits)),
        created_at: Set(client.created_at),
        updated_at: Set(client.updated_at),
        disabled_by_operator: Set(false),
        auth_methods: Set(client.auth_methods.to_string()),
        jwks: Set(jwks),
        jwks_uri: Set(jwks_uri),
        client_type: Set(client.delegation.client_type.as_str().to_owned()),
        redirect_uris: Set(redirect_uris_text(&client.delegation)),
        grant_types: Set(client.delegation.grant_types.to_string()),
        require_par: Set(client.delegation.require_par),
        refresh_idle_seconds: Set(Some(seconds(client.delegation.refresh.idle))),
        refresh_absolute_seconds: Set(Some(seconds(client.delegation.refresh.absolute))),
        metadata_url: Set(client.delegation.metadata_url.as_ref().map(|u| u.as_str().to_owned())),
        registration_token_hash: Set(client.delegation.registration.map(|r| r.token_hash.0.to_vec())),
        registration_expires_at: Set(client.delegation.registration.and_then(|r| r.expires_at)),
    }
}

fn seconds(s: u32) -> i32 {
    i32::try_from(s).unwrap_or(i32::MAX)
}

fn redirect_uris_text(d: &Delegation) -> String {
    serde_json::Value::from(d.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>()).to_string()
}

/// A client's delegation columns, read back.
fn delegation_from(r: &clients::Model) -> Result<Delegation> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("client {} {what}", r.id));
    let uris: Vec<String> = serde_json::from_str(&r.redirect_uris).map_err(|_| corrupt("redirect uris"))?;
    let refresh = match (r.refresh_idle_seconds, r.refresh_absolute_seconds) {
        (Some(idle), Some(absolute)) => RefreshLifetimes::new(
            u32::try_from(idle).map_err(|_| corrupt("refresh lifetime"))?,
            u32::try_from(absolute).map_err(|_| corrupt("refresh lifetime"))?,
        )?,
        _ => RefreshLifetimes::DEFAULT,
    };
    Ok(Delegation {
        client_type: parse_enum("client type", &r.client_type)?,
        redirect_uris: uris.iter().map(|u| RedirectUri::parse(u)).collect::<std::result::Result<_, _>>()?,
        grant_types: GrantKinds::parse(&r.grant_types)?,
        require_par: r.require_par,
        refresh,
        metadata_url: r.metadata_url.as_deref().map(writ_core::cimd::ClientIdUrl::parse).transpose()?,
        registration: match &r.registration_token_hash {
            None => None,
            Some(hash) => Some(writ_core::Registration {
                token_hash: SecretHash(
                    hash.as_slice().try_into().map_err(|_| corrupt("registration token hash"))?,
                ),
                expires_at: r.registration_expires_at,
            }),
        },
    })
}

fn secret_row(s: &ClientSecret) -> client_secrets::ActiveModel {
    client_secrets::ActiveModel {
        id: Set(s.id.to_string()),
        client_id: Set(s.client_id.to_string()),
        display_prefix: Set(s.display_prefix.clone()),
        hash: Set(s.hash.0.to_vec()),
        created_at: Set(s.created_at),
        expires_at: Set(s.expires_at),
        last_used_at: Set(s.last_used_at),
    }
}

fn client_from_row(r: clients::Model, grants: &mut HashMap<String, Grants>) -> Result<Client> {
    let org = r.org_id.as_deref().map(OrgId::parse).transpose()?;
    let user = r.user_id.as_deref().map(UserId::parse).transpose()?;
    let kind = match (r.kind.as_str(), org, user) {
        ("org", Some(org_id), None) => ClientKind::Org { org_id },
        ("user", Some(org_id), Some(user_id)) => ClientKind::User { org_id, user_id },
        ("service", None, None) => ClientKind::Service,
        (k, _, _) => return Err(StoreError::Corrupt(format!("client {} of kind {k}", r.id))),
    };
    let ttl = u32::try_from(r.token_ttl_seconds).map_err(|_| StoreError::Corrupt("token ttl".into()))?;
    let keys = keys_from(&r.id, r.jwks.as_deref(), r.jwks_uri.as_deref())?;
    Ok(Client {
        auth_methods: AuthMethods::parse(&r.auth_methods)?,
        delegation: delegation_from(&r)?,
        keys,
        grants: grants.remove(&r.id).unwrap_or_default(),
        id: parse(ClientId::parse, &r.id)?,
        kind,
        name: parse(Name::parse, &r.name)?,
        status: parse_enum("client status", &r.status)?,
        token_ttl: TokenTtl::new(ttl)?,
        metadata: parse_metadata(&r.metadata)?,
        rate_limits: parse_limits(&r.rate_limits)?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn secret_from_row(r: client_secrets::Model) -> Result<ClientSecret> {
    let hash: [u8; 32] = r.hash.try_into().map_err(|_| StoreError::Corrupt("secret hash".into()))?;
    Ok(ClientSecret {
        id: parse(SecretId::parse, &r.id)?,
        client_id: parse(ClientId::parse, &r.client_id)?,
        display_prefix: r.display_prefix,
        hash: SecretHash(hash),
        created_at: r.created_at,
        expires_at: r.expires_at,
        last_used_at: r.last_used_at,
    })
}

/// Everything the token endpoint needs to authenticate a client and decide its grant.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client: Client,
    pub secrets: Vec<ClientSecret>,
    /// Which external identities stand for it.
    pub federated: Vec<writ_core::federation::FederatedCredential>,
    pub org: Option<Org>,
    pub user: Option<User>,
}

/// Loads a client with its secrets, org and user, for authentication. `None` if the client does not
/// exist. This reads across tenants by nature: the caller is not yet known to belong to any.
pub async fn load_credentials(c: &impl ConnectionTrait, id: &ClientId) -> Result<Option<ClientCredentials>> {
    let all = Tenant::Operator;
    let clients = Clients::new(c, &all);
    let client = match clients.get(id).await {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    // The rest at once: on a cache miss, the token request waits for one round trip, not three.
    let org = async {
        match client.kind.org_id() {
            Some(org_id) => Orgs::new(c, &all).get(org_id).await.map(Some),
            None => Ok(None),
        }
    };
    let user = async {
        match client.kind.user_id() {
            Some(user_id) => Users::new(c, &all).get(user_id).await.map(Some),
            None => Ok(None),
        }
    };
    let (secrets, federated, org, user) = futures_util::future::try_join4(
        secrets_of(c, id),
        super::federation::credentials_of(c, id),
        org,
        user,
    )
    .await?;
    Ok(Some(ClientCredentials { client, secrets, federated, org, user }))
}
