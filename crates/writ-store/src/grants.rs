//! The three grant tables (org entitlements, user grants, client grants) share one shape — owner,
//! resource, scope — so one pair of functions reads and writes all of them.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use writ_core::{Grants, ResourceUri, ScopeName, ScopeSet};

use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy)]
pub(crate) enum GrantTable {
    OrgEntitlements,
    UserGrants,
    ClientGrants,
}

impl GrantTable {
    fn table(self) -> Alias {
        Alias::new(match self {
            Self::OrgEntitlements => "org_entitlements",
            Self::UserGrants => "user_grants",
            Self::ClientGrants => "client_grants",
        })
    }

    fn owner(self) -> Alias {
        Alias::new(match self {
            Self::OrgEntitlements => "org_id",
            Self::UserGrants => "user_id",
            Self::ClientGrants => "client_id",
        })
    }
}

/// The grants of each owner in `owners` (owners without grants are absent from the map).
pub(crate) async fn load(
    c: &impl ConnectionTrait,
    t: GrantTable,
    owners: &[&str],
) -> Result<HashMap<String, Grants>> {
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let res = Alias::new("resources");
    let stmt = Query::select()
        .column((t.table(), t.owner()))
        .column((t.table(), Alias::new("scope")))
        .column((res.clone(), Alias::new("identifier")))
        .from(t.table())
        .inner_join(
            res.clone(),
            Expr::col((t.table(), Alias::new("resource_id"))).equals((res, Alias::new("id"))),
        )
        .and_where(Expr::col((t.table(), t.owner())).is_in(owners.iter().copied()))
        .to_owned();
    let mut out: HashMap<String, Grants> = HashMap::new();
    for row in c.query_all(&stmt).await? {
        let owner: String = row.try_get("", &t.owner().0)?;
        let scope = ScopeName::parse(&row.try_get::<String>("", "scope")?)?;
        let resource = ResourceUri::parse(&row.try_get::<String>("", "identifier")?)?;
        out.entry(owner).or_default().add(resource, ScopeSet::from_iter([scope]));
    }
    out.values_mut().for_each(Grants::shrink_to_fit);
    Ok(out)
}

/// Up to `limit` owners (org, user or client ids) holding a grant on `resource_id` — on one of
/// `scopes`, when given.
pub(crate) async fn holders(
    c: &impl ConnectionTrait,
    resource_id: &str,
    scopes: Option<&[&str]>,
    limit: u64,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in [GrantTable::OrgEntitlements, GrantTable::UserGrants, GrantTable::ClientGrants] {
        let mut q = Query::select()
            .distinct()
            .column(t.owner())
            .from(t.table())
            .and_where(Expr::col(Alias::new("resource_id")).eq(resource_id))
            .limit(limit)
            .to_owned();
        if let Some(scopes) = scopes {
            q.and_where(Expr::col(Alias::new("scope")).is_in(scopes.iter().copied()));
        }
        for row in c.query_all(&q).await? {
            out.push(row.try_get::<String>("", &t.owner().0)?);
        }
    }
    out.truncate(limit as usize);
    Ok(out)
}

/// Replaces the grants of `owner`. Every resource must exist and every scope must be defined on its
/// resource; otherwise nothing is written and the error names `field`.
pub(crate) async fn replace(
    c: &impl ConnectionTrait,
    t: GrantTable,
    owner: &str,
    grants: &Grants,
    field: &'static str,
) -> Result<()> {
    let delete = Query::delete().from_table(t.table()).and_where(Expr::col(t.owner()).eq(owner)).to_owned();
    c.execute(&delete).await?;
    let rows = resolve(c, grants, field).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert()
        .into_table(t.table())
        .columns([t.owner(), Alias::new("resource_id"), Alias::new("scope")])
        .to_owned();
    for (resource_id, scope) in rows {
        insert
            .values([owner.into(), resource_id.into(), scope.into()])
            .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    }
    c.execute(&insert).await?;
    Ok(())
}

/// Adds the grants of many owners that have none yet, in multi-row statements. Every owner's grants
/// are checked like [`replace`]'s.
pub(crate) async fn insert_many(
    c: &impl ConnectionTrait,
    t: GrantTable,
    owners: &[(&str, &Grants)],
    field: &'static str,
) -> Result<()> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut resolved: Vec<(&Grants, Vec<(String, String)>)> = Vec::new();
    for (owner, grants) in owners {
        let pairs = match resolved.iter().find(|(g, _)| g == grants) {
            Some((_, pairs)) => pairs.clone(),
            None => {
                let pairs = resolve(c, grants, field).await?;
                resolved.push((grants, pairs.clone()));
                pairs
            }
        };
        rows.extend(pairs.into_iter().map(|(resource, scope)| ((*owner).to_owned(), resource, scope)));
    }
    if c.get_database_backend() == sea_orm::DbBackend::Postgres {
        let rows = rows
            .into_iter()
            .map(|(owner, resource_id, scope)| {
                serde_json::json!({ t.owner().0.as_str(): owner, "resource_id": resource_id, "scope": scope })
            })
            .collect();
        let columns = format!("{} text, resource_id text, scope text", t.owner().0);
        return crate::repo::insert_json(c, &t.table().0, &columns, rows).await;
    }
    for chunk in rows.chunks(1000) {
        let mut insert = Query::insert()
            .into_table(t.table())
            .columns([t.owner(), Alias::new("resource_id"), Alias::new("scope")])
            .to_owned();
        for (owner, resource, scope) in chunk {
            insert
                .values([owner.as_str().into(), resource.as_str().into(), scope.as_str().into()])
                .map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
        }
        c.execute(&insert).await?;
    }
    Ok(())
}

/// Maps (identifier, scope) pairs to (resource id, scope), checking that each exists.
async fn resolve(
    c: &impl ConnectionTrait,
    grants: &Grants,
    field: &'static str,
) -> Result<Vec<(String, String)>> {
    let identifiers: Vec<&str> = grants.iter().map(|(r, _)| r.as_str()).collect();
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let res = Alias::new("resources");
    let scopes = Alias::new("resource_scopes");
    let stmt = Query::select()
        .column((res.clone(), Alias::new("id")))
        .column((res.clone(), Alias::new("identifier")))
        .column((scopes.clone(), Alias::new("name")))
        .from(res.clone())
        .inner_join(
            scopes.clone(),
            Expr::col((scopes, Alias::new("resource_id"))).equals((res.clone(), Alias::new("id"))),
        )
        .and_where(Expr::col((res, Alias::new("identifier"))).is_in(identifiers))
        .to_owned();
    let mut defined: HashMap<String, (String, Vec<String>)> = HashMap::new();
    for row in c.query_all(&stmt).await? {
        let id: String = row.try_get("", "id")?;
        let identifier: String = row.try_get("", "identifier")?;
        let name: String = row.try_get("", "name")?;
        defined.entry(identifier).or_insert_with(|| (id, Vec::new())).1.push(name);
    }
    let mut rows = Vec::new();
    for (resource, scope_set) in grants.iter() {
        let (id, names) = defined.get(resource.as_str()).ok_or_else(|| StoreError::Invalid {
            field,
            message: format!("unknown resource (or one without scopes): {resource}"),
        })?;
        for scope in scope_set.iter() {
            if !names.iter().any(|n| n == scope.as_str()) {
                return Err(StoreError::Invalid {
                    field,
                    message: format!("resource {resource} has no scope `{scope}`"),
                });
            }
            rows.push((id.clone(), scope.as_str().to_owned()));
        }
    }
    Ok(rows)
}
