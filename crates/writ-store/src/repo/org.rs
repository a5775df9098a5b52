//! Orgs (tenants) and their entitlements.

use super::*;

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
        self.tenant.operator_only()?;
        let res = orgs::Entity::delete_many().filter(orgs::Column::Id.eq(id.as_str())).exec(self.c).await?;
        found(res.rows_affected)
    }

    fn visible(&self) -> Condition {
        self.tenant.scope(orgs::Column::Id)
    }

    /// Creates an org with its entitlements. Only the operator creates orgs; a tenant-built
    /// repository refuses with `NotFound`, as if the collection did not exist for it.
    pub async fn create(&self, org: &Org) -> Result<()> {
        self.tenant.operator_only()?;
        orgs::Entity::insert(orgs::ActiveModel {
            id: Set(org.id.to_string()),
            name: Set(org.name.to_string()),
            slug: Set(org.slug.to_string()),
            status: Set(enum_name(&org.status)),
            metadata: Set(metadata_text(&org.metadata)),
            rate_limits: Set(limits_text(&org.rate_limits)),
            login: Set(login_text(&org.login)),
            url_clients: Set(url_clients_text(&org.url_clients)),
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

    /// Writes an org's name, status, metadata, limits, login settings, URL-client policy and
    /// entitlements.
    pub async fn update(&self, org: &Org) -> Result<()> {
        let res = orgs::Entity::update_many()
            .col_expr(orgs::Column::Name, Expr::value(org.name.as_str()))
            .col_expr(orgs::Column::Status, Expr::value(enum_name(&org.status)))
            .col_expr(orgs::Column::Metadata, Expr::value(metadata_text(&org.metadata)))
            .col_expr(orgs::Column::RateLimits, Expr::value(limits_text(&org.rate_limits)))
            .col_expr(orgs::Column::Login, Expr::value(login_text(&org.login)))
            .col_expr(orgs::Column::UrlClients, Expr::value(url_clients_text(&org.url_clients)))
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

    /// The org with this slug (`NotFound` when there is none, or another tenant's).
    pub async fn by_slug(&self, slug: &Slug) -> Result<Org> {
        let row = orgs::Entity::find()
            .filter(orgs::Column::Slug.eq(slug.as_str()))
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
        login: parse_login(&r.login)?,
        url_clients: parse_url_clients(&r.url_clients)?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}
