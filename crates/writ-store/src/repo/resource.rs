//! Resources: operator data, readable by every caller that may see grants.

use super::*;

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

    /// A page of resources; with `among`, only those with these identifiers.
    pub async fn list(&self, page: &Page, among: Option<&[ResourceUri]>) -> Result<Paged<Resource>> {
        let mut q = resources::Entity::find();
        if let Some(identifiers) = among {
            q = q.filter(resources::Column::Identifier.is_in(identifiers.iter().map(ResourceUri::as_str)));
        }
        let (rows, next) =
            paged(self.c, q, resources::Column::Id, page, |m: &resources::Model| m.id.clone()).await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut scopes = self.scopes_of(&ids).await?;
        let items = rows.into_iter().map(|r| resource_from_row(r, &mut scopes)).collect::<Result<_>>()?;
        Ok(Paged { items, next })
    }

    /// Every scope name some resource defines, sorted, each once (discovery's `scopes_supported`).
    pub async fn scope_names(&self) -> Result<Vec<String>> {
        Ok(resource_scopes::Entity::find()
            .select_only()
            .column(resource_scopes::Column::Name)
            .distinct()
            .order_by_asc(resource_scopes::Column::Name)
            .into_tuple::<String>()
            .all(self.c)
            .await?)
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
