//! Trusted issuers (the operator's: no tenant sees or changes them) and federated credentials
//! (a client's: reached through a tenant-built repository, so another org's are not found).

use writ_core::federation::{ClaimMatch, FederatedCredential, SubjectPattern, TrustedIssuer};
use writ_core::{FederatedCredentialId, TrustedIssuerId};

use super::client::{keys_from, keys_text};
use super::*;

pub struct TrustedIssuers<'c, C> {
    c: &'c C,
}

impl<'c, C: ConnectionTrait> TrustedIssuers<'c, C> {
    pub fn new(c: &'c C) -> Self {
        Self { c }
    }

    pub async fn create(&self, t: &TrustedIssuer) -> Result<()> {
        trusted_issuers::Entity::insert(issuer_row(t)).exec(self.c).await?;
        Ok(())
    }

    pub async fn update(&self, t: &TrustedIssuer) -> Result<()> {
        let res = trusted_issuers::Entity::update_many()
            .set(issuer_row(t))
            .filter(trusted_issuers::Column::Id.eq(t.id.as_str()))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }

    pub async fn get(&self, id: &TrustedIssuerId) -> Result<TrustedIssuer> {
        let row = trusted_issuers::Entity::find_by_id(id.as_str())
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        issuer_from_row(row)
    }

    /// The trusted issuer whose tokens carry `iss` = `issuer`.
    pub async fn by_issuer(&self, issuer: &str) -> Result<TrustedIssuer> {
        let row = trusted_issuers::Entity::find()
            .filter(trusted_issuers::Column::Issuer.eq(issuer))
            .one(self.c)
            .await?
            .ok_or(StoreError::NotFound)?;
        issuer_from_row(row)
    }

    pub async fn list(&self, page: &Page) -> Result<Paged<TrustedIssuer>> {
        let q = trusted_issuers::Entity::find();
        let (rows, next) =
            paged(self.c, q, trusted_issuers::Column::Id, page, |m: &trusted_issuers::Model| m.id.clone())
                .await?;
        Ok(Paged { items: rows.into_iter().map(issuer_from_row).collect::<Result<_>>()?, next })
    }

    /// Every trusted issuer (the token endpoint holds them all).
    pub async fn all(&self) -> Result<Vec<TrustedIssuer>> {
        let rows = trusted_issuers::Entity::find().all(self.c).await?;
        rows.into_iter().map(issuer_from_row).collect()
    }

    /// Deletes an issuer with its federated credentials.
    pub async fn delete(&self, id: &TrustedIssuerId) -> Result<()> {
        let res = trusted_issuers::Entity::delete_many()
            .filter(trusted_issuers::Column::Id.eq(id.as_str()))
            .exec(self.c)
            .await?;
        found(res.rows_affected)
    }
}

fn issuer_row(t: &TrustedIssuer) -> trusted_issuers::ActiveModel {
    let (jwks, jwks_uri) = keys_text(t.keys.as_ref());
    trusted_issuers::ActiveModel {
        id: Set(t.id.to_string()),
        issuer: Set(t.issuer.to_string()),
        name: Set(t.name.to_string()),
        jwks: Set(jwks),
        jwks_uri: Set(jwks_uri),
        max_token_lifetime_seconds: Set(i32::try_from(t.max_token_lifetime).unwrap_or(i32::MAX)),
        single_use: Set(t.single_use),
        id_jag_org_id: Set(t.id_jag.as_ref().map(|b| b.org_id.to_string())),
        id_jag_user_claim: Set(t.id_jag.as_ref().map(|b| b.user_claim.as_str().to_owned())),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
    }
}

fn issuer_from_row(r: trusted_issuers::Model) -> Result<TrustedIssuer> {
    let keys = keys_from(&r.id, r.jwks.as_deref(), r.jwks_uri.as_deref())?;
    let lifetime =
        u32::try_from(r.max_token_lifetime_seconds).map_err(|_| StoreError::Corrupt("lifetime".into()))?;
    Ok(TrustedIssuer {
        id: parse(TrustedIssuerId::parse, &r.id)?,
        issuer: parse(ResourceUri::parse, &r.issuer)?,
        name: parse(Name::parse, &r.name)?,
        keys,
        max_token_lifetime: lifetime,
        single_use: r.single_use,
        id_jag: match (r.id_jag_org_id.as_deref(), r.id_jag_user_claim.as_deref()) {
            (Some(org), Some(claim)) => Some(writ_core::federation::IdJagBinding {
                org_id: parse(OrgId::parse, org)?,
                user_claim: writ_core::federation::UserClaim::parse(claim)?,
            }),
            _ => None,
        },
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// The federated credentials of the clients a tenant sees.
pub struct FederatedCredentials<'c, C> {
    c: &'c C,
    tenant: &'c Tenant,
}

impl<'c, C: ConnectionTrait> FederatedCredentials<'c, C> {
    pub fn new(c: &'c C, tenant: &'c Tenant) -> Self {
        Self { c, tenant }
    }

    /// Adds a credential to a client this tenant sees.
    pub async fn create(&self, f: &FederatedCredential) -> Result<()> {
        Clients::new(self.c, self.tenant).get(&f.client_id).await?;
        federated_credentials::Entity::insert(credential_row(f)).exec(self.c).await?;
        Ok(())
    }

    /// The credentials of a client this tenant sees, oldest first.
    pub async fn of_client(&self, client: &ClientId) -> Result<Vec<FederatedCredential>> {
        Clients::new(self.c, self.tenant).get(client).await?;
        credentials_of(self.c, client).await
    }

    /// Deletes one credential of a client this tenant sees; returns it.
    pub async fn delete(&self, client: &ClientId, id: &FederatedCredentialId) -> Result<FederatedCredential> {
        let found =
            self.of_client(client).await?.into_iter().find(|f| &f.id == id).ok_or(StoreError::NotFound)?;
        federated_credentials::Entity::delete_many()
            .filter(federated_credentials::Column::Id.eq(id.as_str()))
            .exec(self.c)
            .await?;
        Ok(found)
    }

    /// Every credential naming `issuer`, as (client, credential) (operator only: they span orgs).
    pub async fn of_issuer(
        &self,
        issuer: &TrustedIssuerId,
    ) -> Result<Vec<(ClientId, FederatedCredentialId)>> {
        if *self.tenant != Tenant::Operator {
            return Err(StoreError::NotFound);
        }
        let rows = federated_credentials::Entity::find()
            .filter(federated_credentials::Column::IssuerId.eq(issuer.as_str()))
            .all(self.c)
            .await?;
        rows.iter()
            .map(|r| Ok((parse(ClientId::parse, &r.client_id)?, parse(FederatedCredentialId::parse, &r.id)?)))
            .collect()
    }
}

/// A client's credentials, without checking that the client is visible.
pub(crate) async fn credentials_of(
    c: &impl ConnectionTrait,
    client: &ClientId,
) -> Result<Vec<FederatedCredential>> {
    let rows = federated_credentials::Entity::find()
        .filter(federated_credentials::Column::ClientId.eq(client.as_str()))
        .order_by_asc(federated_credentials::Column::Id)
        .all(c)
        .await?;
    rows.into_iter().map(credential_from_row).collect()
}

fn credential_row(f: &FederatedCredential) -> federated_credentials::ActiveModel {
    let claims: serde_json::Map<String, serde_json::Value> =
        f.claims.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
    federated_credentials::ActiveModel {
        id: Set(f.id.to_string()),
        client_id: Set(f.client_id.to_string()),
        issuer_id: Set(f.issuer_id.to_string()),
        name: Set(f.name.to_string()),
        subject: Set(f.subject.as_str().to_owned()),
        audience: Set(f.audience.as_ref().map(ToString::to_string)),
        claims: Set(serde_json::Value::Object(claims).to_string()),
        created_at: Set(f.created_at),
    }
}

fn credential_from_row(r: federated_credentials::Model) -> Result<FederatedCredential> {
    let claims: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&r.claims).map_err(|_| StoreError::Corrupt(format!("claims of {}", r.id)))?;
    Ok(FederatedCredential {
        id: parse(FederatedCredentialId::parse, &r.id)?,
        client_id: parse(ClientId::parse, &r.client_id)?,
        issuer_id: parse(TrustedIssuerId::parse, &r.issuer_id)?,
        name: parse(Name::parse, &r.name)?,
        subject: parse(SubjectPattern::parse, &r.subject)?,
        audience: r.audience.as_deref().map(ResourceUri::parse).transpose()?,
        claims: ClaimMatch::new(claims)?,
        created_at: r.created_at,
    })
}
