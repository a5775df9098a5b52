//! The users of an org and their grants.

use super::*;

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
        self.tenant.scope(users::Column::OrgId)
    }

    pub async fn create(&self, u: &User) -> Result<()> {
        if !self.tenant.owns(Some(&u.org_id)) {
            return Err(StoreError::NotFound);
        }
        users::Entity::insert(users::ActiveModel {
            id: Set(u.id.to_string()),
            org_id: Set(u.org_id.to_string()),
            email: Set(u.email.to_string()),
            external_id: Set(u.external_id.as_ref().map(ToString::to_string)),
            password_hash: Set(u.password_hash.clone()),
            password_changed_at: Set(u.password_changed_at),
            status: Set(enum_name(&u.status)),
            created_at: Set(u.created_at),
            updated_at: Set(u.updated_at),
        })
        .exec(self.c)
        .await?;
        grants::replace(self.c, GrantTable::UserGrants, u.id.as_str(), &u.grants, "grants").await
    }

    /// Writes a user's email, external id, status and grants. Its org and password never change
    /// here ([`Self::set_password`]).
    pub async fn update(&self, u: &User) -> Result<()> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::value(u.email.as_str()))
            .col_expr(users::Column::ExternalId, Expr::value(u.external_id.as_ref().map(|e| e.to_string())))
            .col_expr(users::Column::Status, Expr::value(enum_name(&u.status)))
            .col_expr(users::Column::UpdatedAt, Expr::value(u.updated_at))
            .filter(users::Column::Id.eq(u.id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)?;
        grants::replace(self.c, GrantTable::UserGrants, u.id.as_str(), &u.grants, "grants").await
    }

    /// Sets (or, with `None`, removes) a user's password hash, as of `at`.
    pub async fn set_password(&self, id: &UserId, hash: Option<&str>, at: OffsetDateTime) -> Result<()> {
        let res = users::Entity::update_many()
            .col_expr(users::Column::PasswordHash, Expr::value(hash.map(str::to_owned)))
            .col_expr(users::Column::PasswordChangedAt, Expr::value(Some(at)))
            .col_expr(users::Column::UpdatedAt, Expr::value(at))
            .filter(users::Column::Id.eq(id.as_str()))
            .filter(self.visible())
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    /// The user of `org` with this email (`NotFound` when there is none, or another tenant's).
    pub async fn by_email(&self, org: &OrgId, email: &Email) -> Result<User> {
        self.find_one(users::Column::OrgId.eq(org.as_str()), users::Column::Email.eq(email.as_str())).await
    }

    /// The user of `org` with this external id.
    pub async fn by_external_id(&self, org: &OrgId, external_id: &ExternalId) -> Result<User> {
        self.find_one(
            users::Column::OrgId.eq(org.as_str()),
            users::Column::ExternalId.eq(external_id.as_str()),
        )
        .await
    }

    async fn find_one(
        &self,
        org: impl sea_orm::sea_query::IntoCondition,
        by: impl sea_orm::sea_query::IntoCondition,
    ) -> Result<User> {
        let row = users::Entity::find()
            .filter(org)
            .filter(by)
            .filter(self.visible())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut g = grants::load(self.c, GrantTable::UserGrants, &[&row.id]).await?;
        user_from_row(row, &mut g)
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
        external_id: r.external_id.as_deref().map(|e| parse(ExternalId::parse, e)).transpose()?,
        password_hash: r.password_hash,
        password_changed_at: r.password_changed_at,
        status: parse_enum("user status", &r.status)?,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}
