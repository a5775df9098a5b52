//! Repositories. Org data is reached only through a repository built for a [`Tenant`]: every query
//! of a tenant-built repository is filtered to its org, so a handler cannot forget the check.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use time::OffsetDateTime;
use writ_core::secret::SecretHash;
use writ_core::{
    Actor, AuditEvent, Client, ClientId, ClientKind, ClientSecret, Email, Grants, KeyId, KeyState, Name, Org,
    OrgId, Outcome, Resource, ResourceId, ResourceUri, ScopeDef, ScopeName, SecretId, SigningAlg, SigningKey,
    Slug, TokenTtl, User, UserId,
};

use crate::convert::{
    enum_name, limits_text, metadata_text, parse, parse_enum, parse_limits, parse_metadata,
};
use crate::entity::*;
use crate::grants::{self, GrantTable};
use crate::{Page, Paged, Result, StoreError, Tenant};

/// `NotFound` when an update or delete touched no row (missing, or not visible to the tenant).
fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// `SELECT … FOR UPDATE` when `lock` is set.
fn locked<E: EntityTrait>(q: sea_orm::Select<E>, lock: bool) -> sea_orm::Select<E> {
    if lock { q.lock_exclusive() } else { q }
}

/// Applies a page to a query ordered by id, and splits off the cursor of the next page.
async fn paged<E, M>(
    c: &impl ConnectionTrait,
    q: sea_orm::Select<E>,
    id_col: E::Column,
    page: &Page,
    id_of: impl Fn(&M) -> String,
) -> Result<(Vec<M>, Option<String>)>
where
    E: EntityTrait<Model = M>,
    M: sea_orm::FromQueryResult + Send + Sync,
{
    let limit = page.limit.clamp(1, Page::MAX_LIMIT);
    let mut q = q.order_by_asc(id_col).limit(limit + 1);
    if let Some(after) = &page.after {
        q = q.filter(id_col.gt(after.as_str()));
    }
    let mut rows = q.all(c).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(&id_of)
    } else {
        None
    };
    Ok((rows, next))
}

// ---------------------------------------------------------------------------------------------
// Orgs

pub struct Orgs<'c, C> {
    c: &'c C,
    tenant: &'c Tenant,
    lock: bool,
}

impl<'c, C: ConnectionTrait> Orgs<'c, C> {
    pub fn new(c: &'c C, tenant: &'c Tenant) -> Self {
        Self { c, tenant, lock: false }
    }

    /// Reads rows `FOR UPDATE` (Postgres; SQLite's write transactions are serial anyway), so a
    /// read-check-write inside a transaction cannot interleave with another.
    pub fn for_update(self) -> Self {
        Self { lock: true, ..self }
    }

    /// Deletes an org with its users, clients, secrets and grants (operator only).
    pub async fn delete(&self, id: &OrgId) -> Result<()> {
        if *self.tenant != Tenant::Operator {
            return Err(StoreError::NotFound);
        }
        let res = orgs::Entity::delete_many().filter(orgs::Column::Id.eq(id.as_str())).exec(self.c).await?;
        found(res.rows_affected)
    }

    fn visible(&self) -> Condition {
        match self.tenant {
            Tenant::Operator => Condition::all(),
            Tenant::Org(id) => Condition::all().add(orgs::Column::Id.eq(id.as_str())),
        }
    }

    /// Creates an org with its entitlements. Only the operator creates orgs; a tenant-built
    /// repository refuses with `NotFound`, as if the collection did not exist for it.
    pub async fn create(&self, org: &Org) -> Result<()> {
        if *self.tenant != Tenant::Operator {
            return Err(StoreError::NotFound);
        }
        orgs::Entity::insert(orgs::ActiveModel {
            id: Set(org.id.to_string()),
            name: Set(org.name.to_string()),
            slug: Set(org.slug.to_string()),
            status: Set(enum_name(&org.status)),
            metadata: Set(metadata_text(&org.metadata)),
            rate_limits: Set(limits_text(&org.rate_limits)),
            created_at: Set(org.created_at),
            updated_at: Set(org.updated_at),
        })
        .exec(self.c)
        .await?;
        grants::replace(
            self.c,
            GrantTable::OrgEntitlements,
            org.id.as_str(),
            &org.entitlements,
            "entitlements",
        )
        .await
    }

    /// Writes an org's name, status, metadata and entitlements.
    pub async fn update(&self, org: &Org) -> Result<()> {
        let res = orgs::Entity::update_many()
            .col_expr(orgs::Column::Name, Expr::value(org.name.as_str()))
            .col_expr(orgs::Column::Status, Expr::value(enum_name(&org.status)))
            .col_expr(orgs::Column::Metadata, Expr::value(metadata_text(&org.metadata)))
            .col_expr(orgs::Column::RateLimits, Expr::value(limits_text(&org.rate_limits)))
            .col_expr(orgs::Column::UpdatedAt, Expr::value(org.updated_at))
            .filter(orgs::Column::Id.eq(org.id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        grants::replace(
            self.c,
            GrantTable::OrgEntitlements,
            org.id.as_str(),
            &org.entitlements,
            "entitlements",
        )
        .await
    }

    pub async fn get(&self, id: &OrgId) -> Result<Org> {
        let row = locked(orgs::Entity::find_by_id(id.as_str()), self.lock)
            .filter(self.visible())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut ent = grants::load(self.c, GrantTable::OrgEntitlements, &[&row.id]).await?;
        org_from_row(row, &mut ent)
    }

    pub async fn list(&self, page: &Page) -> Result<Paged<Org>> {
        let q = orgs::Entity::find().filter(self.visible());
        let (rows, next) = paged(self.c, q, orgs::Column::Id, page, |m: &orgs::Model| m.id.clone()).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut ent = grants::load(self.c, GrantTable::OrgEntitlements, &ids).await?;
        let items = rows.into_iter().map(|r| org_from_row(r, &mut ent)).collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }
}

fn org_from_row(r: orgs::Model, grants: &mut HashMap<String, Grants>) -> Result<Org> {
    Ok(Org {
        entitlements: grants.remove(&r.id).unwrap_or_default(),
        id: parse(OrgId::parse, &r.id)?,
        name: parse(Name::parse, &r.name)?,
        slug: parse(Slug::parse, &r.slug)?,
        status: parse_enum("org status", &r.status)?,
        metadata: parse_metadata(&r.metadata)?,
        rate_limits: parse_limits(&r.rate_limits)?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

// ---------------------------------------------------------------------------------------------
// Resources: operator data, readable by every caller that may see grants.

pub struct Resources<'c, C> {
    c: &'c C,
    lock: bool,
}

impl<'c, C: ConnectionTrait> Resources<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c, lock: false }
    }

    /// See [`Orgs::for_update`].
    pub fn for_update(self) -> Self {
        Self { lock: true, ..self }
    }

    /// Writes a resource's name, signing algorithm and scopes. A scope still held by an org's
    /// entitlements, a user or a client cannot be removed: `Conflict` names the holders.
    pub async fn update(&self, r: &Resource) -> Result<()> {
        let res = resources::Entity::update_many()
            .col_expr(resources::Column::Name, Expr::value(r.name.as_str()))
            .col_expr(
                resources::Column::SigningAlg,
                Expr::value(r.signing_alg.map(|a| a.as_str().to_owned())),
            )
            .col_expr(resources::Column::UpdatedAt, Expr::value(r.updated_at))
            .filter(resources::Column::Id.eq(r.id.as_str()))
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        let old = self.scopes_of(&[r.id.as_str()]).await?.remove(r.id.as_str()).unwrap_or_default();
        let removed: Vec<&str> = old
            .iter()
            .filter(|o| !r.scopes.iter().any(|s| s.name == o.name))
            .map(|o| o.name.as_str())
            .collect();
        if !removed.is_empty() {
            let holders = grants::holders(self.c, r.id.as_str(), Some(&removed), 5).await?;
            if !holders.is_empty() {
                return Err(StoreError::Conflict(format!(
                    "scopes still granted (remove them from {} first)",
                    holders.join(", ")
                )));
            }
            resource_scopes::Entity::delete_many()
                .filter(resource_scopes::Column::ResourceId.eq(r.id.as_str()))
                .filter(resource_scopes::Column::Name.is_in(removed))
                .exec(self.c)
                .await?;
        }
        self.insert_scopes(&r.id, &r.scopes).await
    }

    /// Deletes a resource nobody holds a grant on; `Conflict` names the holders otherwise.
    pub async fn delete(&self, id: &ResourceId) -> Result<()> {
        let holders = grants::holders(self.c, id.as_str(), None, 5).await?;
        if !holders.is_empty() {
            return Err(StoreError::Conflict(format!(
                "the resource is still granted (remove it from {} first)",
                holders.join(", ")
            )));
        }
        let res = resources::Entity::delete_many()
            .filter(resources::Column::Id.eq(id.as_str()))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    pub async fn create(&self, r: &Resource) -> Result<()> {
        resources::Entity::insert(resources::ActiveModel {
            id: Set(r.id.to_string()),
            identifier: Set(r.identifier.to_string()),
            name: Set(r.name.to_string()),
            builtin: Set(r.builtin),
            signing_alg: Set(r.signing_alg.map(|a| a.as_str().to_owned())),
            created_at: Set(r.created_at),
            updated_at: Set(r.updated_at),
        })
        .exec(self.c)
        .await?;
        self.insert_scopes(&r.id, &r.scopes).await
    }

    async fn insert_scopes(&self, id: &ResourceId, scopes: &[ScopeDef]) -> Result<()> {
        if scopes.is_empty() {
            return Ok(());
        }
        resource_scopes::Entity::insert_many(scopes.iter().map(|s| resource_scopes::ActiveModel {
            resource_id: Set(id.to_string()),
            name: Set(s.name.to_string()),
            description: Set(s.description.clone()),
        }))
        .on_conflict(
            OnConflict::columns([resource_scopes::Column::ResourceId, resource_scopes::Column::Name])
                .update_column(resource_scopes::Column::Description)
                .to_owned(),
        )
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// Makes sure a built-in resource exists with at least `scopes`; returns it.
    pub async fn ensure_builtin(
        &self,
        identifier: &ResourceUri,
        name: &Name,
        scopes: &[ScopeDef],
    ) -> Result<Resource> {
        let existing = resources::Entity::find()
            .filter(resources::Column::Identifier.eq(identifier.as_str()))
            .one(self.c)
            .await?;
        let id = match existing {
            Some(row) => parse(ResourceId::parse, &row.id)?,
            None => {
                let now = writ_core::now();
                let r = Resource {
                    id: ResourceId::generate(),
                    identifier: identifier.clone(),
                    name: name.clone(),
                    scopes: Vec::new(),
                    builtin: true,
                    signing_alg: None,
                    created_at: now,
                    updated_at: now,
                };
                match self.create(&r).await {
                    Ok(()) => r.id,
                    // Another instance starting at the same moment created it first.
                    Err(StoreError::Conflict(_)) => {
                        let row = resources::Entity::find()
                            .filter(resources::Column::Identifier.eq(identifier.as_str()))
                            .one(self.c)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        parse(ResourceId::parse, &row.id)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        self.insert_scopes(&id, scopes).await?;
        self.get(&id).await
    }

    pub async fn get(&self, id: &ResourceId) -> Result<Resource> {
        let row = locked(resources::Entity::find_by_id(id.as_str()), self.lock)
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut scopes = self.scopes_of(&[&row.id]).await?;
        resource_from_row(row, &mut scopes)
    }

    pub async fn list(&self, page: &Page) -> Result<Paged<Resource>> {
        let q = resources::Entity::find();
        let (rows, next) =
            paged(self.c, q, resources::Column::Id, page, |m: &resources::Model| m.id.clone()).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut scopes = self.scopes_of(&ids).await?;
        let items = rows.into_iter().map(|r| resource_from_row(r, &mut scopes)).collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }

    /// The resources whose tokens use a non-default algorithm: identifier → algorithm.
    pub async fn signing_algs(&self) -> Result<HashMap<String, SigningAlg>> {
        let rows =
            resources::Entity::find().filter(resources::Column::SigningAlg.is_not_null()).all(self.c).await?;
        rows.into_iter()
            .filter_map(|r| Some((r.identifier, r.signing_alg?)))
            .map(|(id, alg)| Ok((id, SigningAlg::parse(&alg)?)))
            .collect()
    }

    async fn scopes_of(&self, ids: &[&str]) -> Result<HashMap<String, Vec<ScopeDef>>> {
        let rows = resource_scopes::Entity::find()
            .filter(resource_scopes::Column::ResourceId.is_in(ids.iter().copied()))
            .order_by_asc(resource_scopes::Column::Name)
            .all(self.c)
            .await?;
        let mut out: HashMap<String, Vec<ScopeDef>> = HashMap::new();
        for r in rows {
            let def = ScopeDef { name: parse(ScopeName::parse, &r.name)?, description: r.description };
            out.entry(r.resource_id).or_default().push(def);
        }
        Ok(out)
    }
}

fn resource_from_row(r: resources::Model, scopes: &mut HashMap<String, Vec<ScopeDef>>) -> Result<Resource> {
    Ok(Resource {
        scopes: scopes.remove(&r.id).unwrap_or_default(),
        id: parse(ResourceId::parse, &r.id)?,
        identifier: parse(ResourceUri::parse, &r.identifier)?,
        name: parse(Name::parse, &r.name)?,
        builtin: r.builtin,
        signing_alg: r.signing_alg.as_deref().map(SigningAlg::parse).transpose()?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

// ---------------------------------------------------------------------------------------------
// Users

pub struct Users<'c, C> {
    c: &'c C,
    tenant: &'c Tenant,
    lock: bool,
}

impl<'c, C: ConnectionTrait> Users<'c, C> {
    pub fn new(c: &'c C, tenant: &'c Tenant) -> Self {
        Self { c, tenant, lock: false }
    }

    /// See [`Orgs::for_update`].
    pub fn for_update(self) -> Self {
        Self { lock: true, ..self }
    }

    fn visible(&self) -> Condition {
        match self.tenant {
            Tenant::Operator => Condition::all(),
            Tenant::Org(id) => Condition::all().add(users::Column::OrgId.eq(id.as_str())),
        }
    }

    pub async fn create(&self, u: &User) -> Result<()> {
        if self.tenant.org_id().is_some_and(|t| t != &u.org_id) {
            return Err(StoreError::NotFound);
        }
        users::Entity::insert(users::ActiveModel {
            id: Set(u.id.to_string()),
            org_id: Set(u.org_id.to_string()),
            email: Set(u.email.to_string()),
            password_hash: Set(u.password_hash.clone()),
            status: Set(enum_name(&u.status)),
            created_at: Set(u.created_at),
            updated_at: Set(u.updated_at),
        })
        .exec(self.c)
        .await?;
        grants::replace(self.c, GrantTable::UserGrants, u.id.as_str(), &u.grants, "grants").await
    }

    /// Writes a user's email, status and grants. Its org never changes.
    pub async fn update(&self, u: &User) -> Result<()> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::value(u.email.as_str()))
            .col_expr(users::Column::Status, Expr::value(enum_name(&u.status)))
            .col_expr(users::Column::UpdatedAt, Expr::value(u.updated_at))
            .filter(users::Column::Id.eq(u.id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        grants::replace(self.c, GrantTable::UserGrants, u.id.as_str(), &u.grants, "grants").await
    }

    pub async fn set_status(&self, id: &UserId, status: writ_core::Status) -> Result<()> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::Status, Expr::value(enum_name(&status)))
            .col_expr(users::Column::UpdatedAt, Expr::value(writ_core::now()))
            .filter(users::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// Deletes a user with its user clients and their secrets.
    pub async fn delete(&self, id: &UserId) -> Result<()> {
        let res = users::Entity::delete_many()
            .filter(users::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    pub async fn get(&self, id: &UserId) -> Result<User> {
        let row = locked(users::Entity::find_by_id(id.as_str()), self.lock)
            .filter(self.visible())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut g = grants::load(self.c, GrantTable::UserGrants, &[&row.id]).await?;
        user_from_row(row, &mut g)
    }

    /// Users in id order; `org` narrows an operator's list to one org.
    pub async fn list(&self, page: &Page, org: Option<&OrgId>) -> Result<Paged<User>> {
        let mut q = users::Entity::find().filter(self.visible());
        if let Some(org) = org {
            q = q.filter(users::Column::OrgId.eq(org.as_str()));
        }
        let (rows, next) = paged(self.c, q, users::Column::Id, page, |m: &users::Model| m.id.clone()).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut g = grants::load(self.c, GrantTable::UserGrants, &ids).await?;
        let items = rows.into_iter().map(|r| user_from_row(r, &mut g)).collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }
}

fn user_from_row(r: users::Model, grants: &mut HashMap<String, Grants>) -> Result<User> {
    Ok(User {
        grants: grants.remove(&r.id).unwrap_or_default(),
        id: parse(UserId::parse, &r.id)?,
        org_id: parse(OrgId::parse, &r.org_id)?,
        email: parse(Email::parse, &r.email)?,
        password_hash: r.password_hash,
        status: parse_enum("user status", &r.status)?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

// ---------------------------------------------------------------------------------------------
// Clients and their secrets

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
        match self.tenant {
            Tenant::Operator => Condition::all(),
            Tenant::Org(id) => Condition::all().add(clients::Column::OrgId.eq(id.as_str())),
        }
    }

    fn owns(&self, kind: &ClientKind) -> bool {
        match self.tenant {
            Tenant::Operator => true,
            Tenant::Org(id) => kind.org_id() == Some(id),
        }
    }

    /// Creates a client, its grants and its first secret.
    pub async fn create(&self, client: &Client, secret: &ClientSecret) -> Result<()> {
        if !self.owns(&client.kind) {
            return Err(StoreError::NotFound);
        }
        clients::Entity::insert(client_row(client)).exec(self.c).await?;
        grants::replace(self.c, GrantTable::ClientGrants, client.id.as_str(), &client.grants, "grants")
            .await?;
        self.add_secret(secret).await
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

    /// Writes a client's name, status, TTL, metadata and grants. Its kind and org never change.
    pub async fn update(&self, client: &Client) -> Result<()> {
        let res = clients::Entity::update_many()
            .col_expr(clients::Column::Name, Expr::value(client.name.as_str()))
            .col_expr(clients::Column::Status, Expr::value(enum_name(&client.status)))
            .col_expr(
                clients::Column::TokenTtlSeconds,
                Expr::value(i32::try_from(client.token_ttl.seconds()).unwrap_or(i32::MAX)),
            )
            .col_expr(clients::Column::Metadata, Expr::value(metadata_text(&client.metadata)))
            .col_expr(clients::Column::RateLimits, Expr::value(limits_text(&client.rate_limits)))
            .col_expr(clients::Column::UpdatedAt, Expr::value(client.updated_at))
            .filter(clients::Column::Id.eq(client.id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        grants::replace(self.c, GrantTable::ClientGrants, client.id.as_str(), &client.grants, "grants").await
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

fn client_row(client: &Client) -> clients::ActiveModel {
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
    }
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
    Ok(Client {
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
    let (secrets, org, user) = futures_util::future::try_join3(secrets_of(c, id), org, user).await?;
    Ok(Some(ClientCredentials { client, secrets, org, user }))
}

// ---------------------------------------------------------------------------------------------
// Signing keys

pub struct Keys<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> Keys<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn insert(&self, k: &SigningKey) -> Result<()> {
        signing_keys::Entity::insert(signing_keys::ActiveModel {
            kid: Set(k.kid.to_string()),
            alg: Set(k.alg.as_str().to_owned()),
            state: Set(k.state.as_str().to_owned()),
            private_key_encrypted: Set(k.private_key_encrypted.clone()),
            public_jwk: Set(k.public_jwk.to_string()),
            created_at: Set(k.created_at),
            activated_at: Set(k.activated_at),
            retired_at: Set(k.retired_at),
            revoked_at: Set(k.revoked_at),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }

    /// Moves a key from state `from` to `to` at `at`, recording the time of the state it enters.
    /// `false` if the key was not in `from` (another instance got there first).
    pub async fn transition(
        &self,
        kid: &KeyId,
        from: KeyState,
        to: KeyState,
        at: OffsetDateTime,
    ) -> Result<bool> {
        let mut update = signing_keys::Entity::update_many()
            .col_expr(signing_keys::Column::State, Expr::value(to.as_str()))
            .filter(signing_keys::Column::Kid.eq(kid.as_str()))
            .filter(signing_keys::Column::State.eq(from.as_str()));
        update = match to {
            KeyState::Active => update.col_expr(signing_keys::Column::ActivatedAt, Expr::value(at)),
            KeyState::Retired => update.col_expr(signing_keys::Column::RetiredAt, Expr::value(at)),
            KeyState::Revoked => update.col_expr(signing_keys::Column::RevokedAt, Expr::value(at)),
            KeyState::Pending | KeyState::Removed => update,
        };
        Ok(update.exec(self.c).await?.rows_affected == 1)
    }

    /// Every key, oldest first.
    pub async fn list(&self) -> Result<Vec<SigningKey>> {
        let rows = signing_keys::Entity::find().order_by_asc(signing_keys::Column::Kid).all(self.c).await?;
        rows.into_iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: parse(KeyId::parse, &r.kid)?,
                    alg: parse(SigningAlg::parse, &r.alg)?,
                    state: parse(KeyState::parse, &r.state)?,
                    private_key_encrypted: r.private_key_encrypted,
                    public_jwk: serde_json::from_str(&r.public_jwk)
                        .map_err(|e| StoreError::Corrupt(format!("public jwk: {e}")))?,
                    created_at: r.created_at,
                    activated_at: r.activated_at,
                    retired_at: r.retired_at,
                    revoked_at: r.revoked_at,
                })
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// Which audit events to list; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An exact action (`client.created`), or a family (`client.*`).
    pub action: Option<String>,
    /// The actor's id (`cli_…`, `usr_…`), or `operator` / `system`.
    pub actor: Option<String>,
    /// Events done by this client or to it.
    pub client: Option<String>,
    pub org: Option<OrgId>,
    /// From this instant (inclusive).
    pub since: Option<OffsetDateTime>,
    /// Until this instant (exclusive).
    pub until: Option<OffsetDateTime>,
}

impl AuditFilter {
    pub fn action(action: &str) -> Self {
        Self { action: Some(action.to_owned()), ..Self::default() }
    }
}

pub struct Audit<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> Audit<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn record(&self, e: &AuditEvent) -> Result<()> {
        audit_events::Entity::insert(audit_row(e)).exec(self.c).await?;
        Ok(())
    }

    /// Writes several events in one statement (the batched writer's path). On Postgres the batch
    /// travels as one JSON parameter of a statement whose text never changes, so it is prepared
    /// once per connection; a multi-row `VALUES` list with 11 parameters a row would be parsed and
    /// planned anew for every batch size, and building it costs the issuer more CPU than the
    /// database spends inserting.
    pub async fn record_many(&self, events: &[AuditEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if self.c.get_database_backend() != DbBackend::Postgres {
            audit_events::Entity::insert_many(events.iter().map(audit_row)).exec(self.c).await?;
            return Ok(());
        }
        let rows = events
            .iter()
            .map(|e| {
                let (actor_kind, actor_id) = actor_columns(&e.actor);
                serde_json::json!({
                    "id": e.id.to_string(),
                    "occurred_at": json_time(e.occurred_at),
                    "actor_kind": actor_kind,
                    "actor_id": actor_id,
                    "org_id": e.org_id.as_ref().map(ToString::to_string),
                    "action": e.action,
                    "target_id": e.target_id,
                    "outcome": enum_name(&e.outcome),
                    "ip": e.ip,
                    "request_id": e.request_id,
                    "details": e.details.to_string(),
                })
            })
            .collect();
        insert_json(
            self.c,
            "audit_events",
            "id text, occurred_at timestamptz, actor_kind text, actor_id text, org_id text, action text, \
             target_id text, outcome text, ip text, request_id text, details text",
            rows,
        )
        .await
    }

    /// The issuance record of a token: (client id, org id, exp), if it was audited.
    pub async fn issued_token(&self, jti: &str) -> Result<Option<(String, Option<String>, i64)>> {
        let row = audit_events::Entity::find()
            .filter(audit_events::Column::Action.eq("token.issued"))
            .filter(audit_events::Column::TargetId.eq(jti))
            .one(self.c)
            .await?;
        Ok(row.map(|r| {
            let exp = serde_json::from_str::<serde_json::Value>(&r.details)
                .ok()
                .and_then(|d| d["exp"].as_i64())
                .unwrap_or(0);
            (r.actor_id.unwrap_or_default(), r.org_id, exp)
        }))
    }

    /// The tokens (jti, exp) that `secret` authenticated since `since`, from the issuance records.
    pub async fn issued_with_secret(
        &self,
        secret: &SecretId,
        since: OffsetDateTime,
    ) -> Result<Vec<(String, i64)>> {
        // serde_json writes `"secret_id":"sec_…"` exactly so; ids hold no LIKE wildcards.
        let needle = format!("%\"secret_id\":\"{secret}\"%");
        let rows = audit_events::Entity::find()
            .filter(audit_events::Column::Action.eq("token.issued"))
            .filter(audit_events::Column::OccurredAt.gte(since))
            .filter(audit_events::Column::Details.like(needle))
            .all(self.c)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let exp = serde_json::from_str::<serde_json::Value>(&r.details).ok()?["exp"].as_i64()?;
                Some((r.target_id?, exp))
            })
            .collect())
    }

    /// Events visible to `tenant` that match `filter`, oldest first.
    pub async fn list(
        &self,
        tenant: &Tenant,
        page: &Page,
        filter: &AuditFilter,
    ) -> Result<Paged<AuditEvent>> {
        let mut q = audit_events::Entity::find();
        if let Some(org) = tenant.org_id() {
            q = q.filter(audit_events::Column::OrgId.eq(org.as_str()));
        }
        if let Some(org) = &filter.org {
            q = q.filter(audit_events::Column::OrgId.eq(org.as_str()));
        }
        match filter.action.as_deref() {
            Some(prefix) if prefix.ends_with(".*") => {
                let like = format!("{}.%", prefix.trim_end_matches(".*").replace(['%', '_'], ""));
                q = q.filter(audit_events::Column::Action.like(like));
            }
            Some(action) => q = q.filter(audit_events::Column::Action.eq(action)),
            None => {}
        }
        if let Some(actor) = &filter.actor {
            q = q.filter(match actor.as_str() {
                "operator" | "system" => audit_events::Column::ActorKind.eq(actor.as_str()),
                id => audit_events::Column::ActorId.eq(id),
            });
        }
        if let Some(client) = &filter.client {
            q = q.filter(
                Condition::any()
                    .add(audit_events::Column::ActorId.eq(client.as_str()))
                    .add(audit_events::Column::TargetId.eq(client.as_str())),
            );
        }
        if let Some(since) = filter.since {
            q = q.filter(audit_events::Column::OccurredAt.gte(since));
        }
        if let Some(until) = filter.until {
            q = q.filter(audit_events::Column::OccurredAt.lt(until));
        }
        let (rows, next) =
            paged(self.c, q, audit_events::Column::Id, page, |m: &audit_events::Model| m.id.clone()).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let actor = match (r.actor_kind.as_str(), r.actor_id.as_deref()) {
                    ("client", Some(id)) => Actor::Client(ClientId::parse(id)?),
                    ("operator", _) => Actor::Operator,
                    _ => Actor::System,
                };
                Ok(AuditEvent {
                    id: parse(writ_core::EventId::parse, &r.id)?,
                    occurred_at: r.occurred_at,
                    actor,
                    org_id: r.org_id.as_deref().map(OrgId::parse).transpose()?,
                    action: r.action,
                    target_id: r.target_id,
                    outcome: parse_enum::<Outcome>("outcome", &r.outcome)?,
                    ip: r.ip,
                    request_id: r.request_id,
                    details: serde_json::from_str(&r.details).unwrap_or_default(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }
}

/// A batch of rows as the one JSON parameter of a Postgres `json_to_recordset` statement.
fn json_rows(rows: Vec<serde_json::Value>) -> sea_orm::Value {
    serde_json::Value::Array(rows).to_string().into()
}

/// Inserts `rows` (JSON objects keyed by column) into `table` on Postgres in one statement whose
/// text never changes, however many rows there are: they travel as one JSON parameter. `columns`
/// lists each column with its SQL type (`id text, at timestamptz`). A multi-row `VALUES` list
/// would be parsed and planned anew for every batch size, and caps a statement at 65,535
/// parameters.
pub(crate) async fn insert_json(
    c: &impl ConnectionTrait,
    table: &str,
    columns: &str,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    let names: Vec<&str> = columns.split(',').filter_map(|c| c.split_whitespace().next()).collect();
    let names = names.join(", ");
    let sql = format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM json_to_recordset($1::json) AS r({columns})"
    );
    c.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [json_rows(rows)])).await?;
    Ok(())
}

/// A time for `json_to_recordset`: RFC 3339 at microseconds, which Postgres keeps (it would round
/// finer digits; sqlx, binding a time directly, truncates them).
fn json_time(at: OffsetDateTime) -> Option<String> {
    let at = at.replace_microsecond(at.microsecond()).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339).ok()
}

/// How an actor is stored: its kind and, for a client, its id.
fn actor_columns(actor: &Actor) -> (&'static str, Option<String>) {
    match actor {
        Actor::Client(id) => ("client", Some(id.to_string())),
        Actor::Operator => ("operator", None),
        Actor::System => ("system", None),
    }
}

fn audit_row(e: &AuditEvent) -> audit_events::ActiveModel {
    let (actor_kind, actor_id) = actor_columns(&e.actor);
    audit_events::ActiveModel {
        id: Set(e.id.to_string()),
        occurred_at: Set(e.occurred_at),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        org_id: Set(e.org_id.as_ref().map(ToString::to_string)),
        action: Set(e.action.clone()),
        target_id: Set(e.target_id.clone()),
        outcome: Set(enum_name(&e.outcome)),
        ip: Set(e.ip.clone()),
        request_id: Set(e.request_id.clone()),
        details: Set(e.details.to_string()),
    }
}

/// Records when secrets were last used, in one statement however many there are (a batch of
/// issuance records touches hundreds: one round trip each would cap the audit writer at a few
/// thousand records a second on Postgres). Only ever moves `last_used_at` forward, so batches that
/// arrive out of order cannot set it back.
pub async fn touch_secrets(c: &impl ConnectionTrait, used: &[(SecretId, OffsetDateTime)]) -> Result<()> {
    if used.is_empty() {
        return Ok(());
    }
    let backend = c.get_database_backend();
    let newer = "(client_secrets.last_used_at IS NULL OR client_secrets.last_used_at < used.at)";
    let (sql, values): (String, Vec<sea_orm::Value>) = if backend == DbBackend::Postgres {
        // One JSON parameter: the statement's text never changes, so it is prepared once.
        let rows: Vec<serde_json::Value> = used
            .iter()
            .map(|(id, at)| serde_json::json!({ "id": id.as_str(), "at": json_time(*at) }))
            .collect();
        let sql = format!(
            "UPDATE client_secrets SET last_used_at = used.at \
             FROM json_to_recordset($1::json) AS used(id text, at timestamptz) \
             WHERE client_secrets.id = used.id AND {newer}"
        );
        (sql, vec![json_rows(rows)])
    } else {
        let sql = format!(
            "WITH used(id, at) AS (VALUES {}) UPDATE client_secrets SET last_used_at = used.at FROM used \
             WHERE client_secrets.id = used.id AND {newer}",
            vec!["(?, ?)"; used.len()].join(", ")
        );
        (sql, used.iter().flat_map(|(id, at)| [id.as_str().into(), (*at).into()]).collect())
    };
    c.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// System state: a few named values (the operator's client id, …).

pub struct SystemState<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> SystemState<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(system_state::Entity::find_by_id(key).one(self.c).await?.map(|r| r.value))
    }

    /// Sets `key` only if it has no value yet; `Conflict` if it has one.
    pub async fn insert(&self, key: &str, value: &str) -> Result<()> {
        system_state::Entity::insert(system_state::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value.to_owned()),
        })
        .exec(self.c)
        .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys: the first answer to a keyed request, for its retries.

/// A key someone already used.
#[derive(Debug, Clone)]
pub struct UsedKey {
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status: Option<u16>,
    /// The stored answer (sealed by the caller).
    pub response: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

pub struct IdempotencyKeys<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> IdempotencyKeys<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    /// Claims `key` of `owner` for a request; `Some` (and nothing claimed) if it is taken. Keys
    /// created before `expired_before` are forgotten first.
    pub async fn claim(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        now: OffsetDateTime,
        expired_before: OffsetDateTime,
    ) -> Result<Option<UsedKey>> {
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::CreatedAt.lt(expired_before))
            .exec(self.c)
            .await?;
        let row = idempotency_keys::ActiveModel {
            owner: Set(owner.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(request_hash.to_owned()),
            status: Set(None),
            response: Set(None),
            created_at: Set(now),
        };
        match idempotency_keys::Entity::insert(row).exec(self.c).await.map_err(StoreError::from) {
            Ok(_) => Ok(None),
            Err(StoreError::Conflict(_)) => {
                let row = idempotency_keys::Entity::find_by_id((owner.to_owned(), key.to_owned()))
                    .one(self.c)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                Ok(Some(UsedKey {
                    request_hash: row.request_hash,
                    status: row.status.and_then(|s| u16::try_from(s).ok()),
                    response: row.response,
                    created_at: row.created_at,
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Takes over a key whose first request started before `stale_before` and never finished (its
    /// process died); `false` if it finished or is still fresh.
    pub async fn take_over(
        &self,
        owner: &str,
        key: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<bool> {
        let res = idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::CreatedAt, Expr::value(now))
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .filter(idempotency_keys::Column::Status.is_null())
            .filter(idempotency_keys::Column::CreatedAt.lt(stale_before))
            .exec(self.c)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Stores the answer to a claimed key.
    pub async fn complete(&self, owner: &str, key: &str, status: u16, response: Vec<u8>) -> Result<()> {
        let res = idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::Status, Expr::value(i32::from(status)))
            .col_expr(idempotency_keys::Column::Response, Expr::value(response))
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// Forgets a claimed key (its request failed on our side: a retry may run it again).
    pub async fn release(&self, owner: &str, key: &str) -> Result<()> {
        idempotency_keys::Entity::delete_many()
            .filter(idempotency_keys::Column::Owner.eq(owner))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(self.c)
            .await?;
        Ok(())
    }
}
