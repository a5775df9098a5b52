//! The decision of a client-credentials token request (docs/tokens.md, "Getting one"): which
//! audiences and scopes an authenticated client receives. No I/O: the caller supplies the client,
//! its org and its user.

use crate::{
    Client, ClientKind, Grants, Org, OrgId, OrgStatus, ResourceUri, ScopeSet, Status, TokenTtl, User, UserId,
};

/// What the client asked for, already parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenRequest {
    /// `scope`; `None` asks for every scope granted for the chosen audiences.
    pub scope: Option<ScopeSet>,
    /// RFC 8707 `resource` (repeatable) or Auth0's `audience`.
    pub resources: Vec<ResourceUri>,
}

/// What the token will say.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Sorted and without duplicates, so the `aud` claim is deterministic.
    pub audiences: Vec<ResourceUri>,
    pub scope: ScopeSet,
    pub ttl: TokenTtl,
    pub org_id: Option<OrgId>,
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The client, its org or its user cannot be used now. Answered as `invalid_client`, exactly
    /// like a wrong secret, so a caller cannot tell a disabled client from a bad credential. The
    /// reason is for logs only.
    #[error("client is not usable: {0}")]
    Inactive(&'static str),
    /// The client holds no grant at all after entitlements are applied (`unauthorized_client`).
    #[error("client is granted nothing")]
    NothingGranted,
    /// A requested scope is not granted (`invalid_scope`).
    #[error("{0}")]
    InvalidScope(String),
    /// A requested resource is unknown or not granted, or none can be chosen (`invalid_target`).
    #[error("{0}")]
    InvalidTarget(String),
}

/// Decides what `client` may receive for `req`. `org` is the client's org (org and user kinds) and
/// `user` its user (user kind); either missing for a kind that needs it makes the client unusable.
///
/// Effective grants are the client's grants, cut down to the org's current entitlements and, for a
/// user client, to the user's grants: shrinking an entitlement shrinks every later token at once.
pub fn grant(
    client: &Client,
    org: Option<&Org>,
    user: Option<&User>,
    req: &TokenRequest,
) -> Result<Grant, GrantError> {
    if client.status != Status::Active {
        return Err(GrantError::Inactive("client disabled"));
    }
    let effective = match &client.kind {
        ClientKind::Service => client.grants.clone(),
        ClientKind::Org { org_id } => client.grants.intersect(&usable_org(org, org_id)?.entitlements),
        ClientKind::User { org_id, user_id } => {
            let org = usable_org(org, org_id)?;
            let user = user
                .filter(|u| &u.id == user_id && &u.org_id == org_id)
                .ok_or(GrantError::Inactive("user missing"))?;
            if user.status != Status::Active {
                return Err(GrantError::Inactive("user disabled"));
            }
            client.grants.intersect(&org.entitlements).intersect(&user.grants)
        }
    };
    let (audiences, scope) = decide(&effective, req)?;
    Ok(Grant {
        audiences,
        scope,
        ttl: client.token_ttl,
        org_id: client.kind.org_id().cloned(),
        user_id: client.kind.user_id().cloned(),
    })
}

/// Decides what `client` may receive acting for the person `user` of `org` (docs/delegation.md):
/// the client's grants ∩ the org's entitlements ∩ the person's grants. An org client acts only
/// for people of its own org; a service client for people of any org; a user client for nobody
/// but its user. The token says whom: `oid` and `uid` are the person's.
pub fn delegated(client: &Client, org: &Org, user: &User, req: &TokenRequest) -> Result<Grant, GrantError> {
    if client.status != Status::Active {
        return Err(GrantError::Inactive("client disabled"));
    }
    if user.status != Status::Active || user.org_id != org.id {
        return Err(GrantError::Inactive("user disabled"));
    }
    let org = usable_org(Some(org), &user.org_id)?;
    let within_client = match &client.kind {
        ClientKind::Service => true,
        ClientKind::Org { org_id } => org_id == &org.id,
        ClientKind::User { user_id, .. } => user_id == &user.id,
    };
    if !within_client {
        return Err(GrantError::Inactive("the person is not one the client may act for"));
    }
    // A client that introduced itself acts for an org's people only if the org lets them use
    // such clients: from its document's host, or (registered by itself, with no host to trust)
    // when the org names no hosts. One known by its document registers no grants: it gets what
    // the org and the person hold.
    let host = client.delegation.metadata_url.as_ref().map(crate::cimd::ClientIdUrl::host);
    let introduced = matches!(client.kind, ClientKind::Service) && client.delegation.introduced();
    if introduced && !org.url_clients.allows(host) {
        return Err(GrantError::Inactive("the org does not allow clients that introduced themselves"));
    }
    let client_grants = match &client.delegation.metadata_url {
        Some(_) => &org.entitlements,
        None => &client.grants,
    };
    if let Some(builtin) = req.resources.iter().find(|r| is_builtin(r)) {
        return Err(GrantError::InvalidTarget(format!(
            "{builtin} is not delegated: people use it through Writ's admins"
        )));
    }
    // Writ's own APIs are never delegated: a person's agent is not a tenant admin.
    let effective: Grants = client_grants
        .intersect(&org.entitlements)
        .intersect(&user.grants)
        .iter()
        .filter(|(r, _)| !is_builtin(r))
        .map(|(r, s)| (r.clone(), s.clone()))
        .collect();
    let (audiences, scope) = decide(&effective, req)?;
    Ok(Grant {
        audiences,
        scope,
        ttl: client.token_ttl,
        org_id: Some(org.id.clone()),
        user_id: Some(user.id.clone()),
    })
}

/// The audiences and scope `req` receives out of `effective` grants.
fn decide(effective: &Grants, req: &TokenRequest) -> Result<(Vec<ResourceUri>, ScopeSet), GrantError> {
    if effective.is_empty() {
        return Err(GrantError::NothingGranted);
    }
    let audiences = choose_audiences(effective, req)?;
    // A token's scopes are granted on every audience it names, or an API that receives it would
    // honour a scope that only another API was granted.
    let mut common: Option<ScopeSet> = None;
    for aud in &audiences {
        let granted = effective.scopes(aud).cloned().unwrap_or_default();
        common = Some(match common {
            None => granted,
            Some(c) => c.intersection(&granted),
        });
    }
    let common = common.unwrap_or_default();
    let scope = match &req.scope {
        None if common.is_empty() => {
            return Err(GrantError::InvalidScope(
                "no scope is granted on every one of these resources: ask for them one at a time".into(),
            ));
        }
        None => common,
        Some(requested) => {
            let missing = requested.difference(&common);
            if !missing.is_empty() {
                return Err(GrantError::InvalidScope(match audiences.len() {
                    1 => format!("scope not granted: {missing}"),
                    _ => format!("scope not granted on every resource named: {missing}"),
                }));
            }
            requested.clone()
        }
    };
    Ok((audiences, scope))
}

fn usable_org<'a>(org: Option<&'a Org>, org_id: &OrgId) -> Result<&'a Org, GrantError> {
    let org = org.filter(|o| &o.id == org_id).ok_or(GrantError::Inactive("org missing"))?;
    if org.status != OrgStatus::Active {
        return Err(GrantError::Inactive("org suspended"));
    }
    Ok(org)
}

/// Whether `aud` is one of Writ's own APIs, whose tokens are for them alone: a token that another
/// API receives must never be replayable at the admin or guard API.
pub fn is_builtin(aud: &ResourceUri) -> bool {
    aud.as_str() == crate::ADMIN_AUDIENCE || aud.as_str() == crate::GUARD_AUDIENCE
}

/// Named resources must all be granted. With none named, each requested scope picks the one
/// granted resource that defines it (a scope several of them define is ambiguous: name one); with
/// no scope either, the client's only resource. Writ's own APIs never share a token.
fn choose_audiences(effective: &Grants, req: &TokenRequest) -> Result<Vec<ResourceUri>, GrantError> {
    let mut audiences: Vec<ResourceUri> = if !req.resources.is_empty() {
        if let Some(r) = req.resources.iter().find(|r| effective.scopes(r).is_none()) {
            return Err(GrantError::InvalidTarget(format!("resource not granted to this client: {r}")));
        }
        req.resources.clone()
    } else if let Some(requested) = &req.scope {
        fn holders<'a>(effective: &'a Grants, scope: &'a str) -> impl Iterator<Item = &'a ResourceUri> {
            effective.iter().filter(move |(_, s)| s.contains(scope)).map(|(r, _)| r)
        }
        let missing: ScopeSet =
            requested.iter().filter(|s| holders(effective, s.as_str()).next().is_none()).cloned().collect();
        if !missing.is_empty() {
            return Err(GrantError::InvalidScope(format!("scope not granted: {missing}")));
        }
        let mut chosen = Vec::new();
        for scope in requested.iter() {
            let mut found = holders(effective, scope.as_str());
            match (found.next(), found.next()) {
                (Some(only), None) => chosen.push(only.clone()),
                _ => {
                    return Err(GrantError::InvalidTarget(format!(
                        "scope `{scope}` is granted on several resources: name one with `resource` or `audience`"
                    )));
                }
            }
        }
        chosen
    } else {
        let mut all = effective.iter().map(|(r, _)| r.clone());
        match (all.next(), all.next()) {
            (Some(only), None) => vec![only],
            _ => {
                return Err(GrantError::InvalidTarget(
                    "the client is granted several resources: name one with `resource` or `audience`".into(),
                ));
            }
        }
    };
    audiences.sort();
    audiences.dedup();
    if audiences.len() > 1 && audiences.iter().any(is_builtin) {
        return Err(GrantError::InvalidTarget(
            "urn:writ:admin and urn:writ:guard tokens are for that API alone: ask for it on its own".into(),
        ));
    }
    Ok(audiences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientId, Metadata, Name, Slug};
    use time::OffsetDateTime;

    const BILLING: &str = "https://api.example.com/billing";
    const FILES: &str = "https://api.example.com/files";

    fn uri(s: &str) -> ResourceUri {
        ResourceUri::parse(s).unwrap()
    }

    fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    fn grants(list: &[(&str, &str)]) -> Grants {
        let mut g = Grants::new();
        for (r, s) in list {
            g.add(uri(r), scopes(s));
        }
        g
    }

    fn org(entitlements: Grants) -> Org {
        let now = OffsetDateTime::now_utc();
        Org {
            id: OrgId::generate(),
            name: Name::parse("Acme").unwrap(),
            slug: Slug::parse("acme").unwrap(),
            status: OrgStatus::Active,
            metadata: Metadata::default(),
            rate_limits: Default::default(),
            login: Default::default(),
            url_clients: Default::default(),
            entitlements,
            created_at: now,
            updated_at: now,
        }
    }

    fn client(kind: ClientKind, grants: Grants) -> Client {
        let now = OffsetDateTime::now_utc();
        Client {
            id: ClientId::generate(),
            kind,
            name: Name::parse("sync").unwrap(),
            status: Status::Active,
            token_ttl: TokenTtl::default(),
            grants,
            metadata: Metadata::default(),
            rate_limits: Default::default(),
            auth_methods: Default::default(),
            keys: None,
            delegation: Default::default(),
            created_at: now,
            updated_at: now,
        }
    }

    fn req(scope: Option<&str>, resources: &[&str]) -> TokenRequest {
        TokenRequest { scope: scope.map(scopes), resources: resources.iter().map(|r| uri(r)).collect() }
    }

    fn user(org: &Org, grants: Grants) -> User {
        let now = OffsetDateTime::now_utc();
        User {
            id: UserId::generate(),
            org_id: org.id.clone(),
            email: crate::Email::parse("ann@example.com").unwrap(),
            external_id: None,
            password_hash: None,
            password_changed_at: None,
            status: Status::Active,
            grants,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn no_scope_means_every_granted_scope_of_the_only_resource() {
        let o = org(grants(&[(BILLING, "invoices:read invoices:write")]));
        let c = client(ClientKind::Org { org_id: o.id.clone() }, grants(&[(BILLING, "invoices:read")]));
        let g = grant(&c, Some(&o), None, &req(None, &[])).unwrap();
        assert_eq!(g.audiences, vec![uri(BILLING)]);
        assert_eq!(g.scope, scopes("invoices:read"));
        assert_eq!(g.org_id.as_ref(), Some(&o.id));
        assert_eq!(g.user_id, None);
        assert_eq!(g.ttl, TokenTtl::default());
    }

    #[test]
    fn requested_scopes_must_be_granted() {
        let o = org(grants(&[(BILLING, "invoices:read invoices:write")]));
        let c = client(ClientKind::Org { org_id: o.id.clone() }, grants(&[(BILLING, "invoices:read")]));
        assert_eq!(
            grant(&c, Some(&o), None, &req(Some("invoices:read"), &[BILLING])).unwrap().scope,
            scopes("invoices:read")
        );
        let err =
            grant(&c, Some(&o), None, &req(Some("invoices:read invoices:write"), &[BILLING])).unwrap_err();
        assert_eq!(err, GrantError::InvalidScope("scope not granted: invoices:write".into()));
    }

    #[test]
    fn entitlements_cap_client_grants_at_issuance() {
        // The client was granted write once; the org has since lost that entitlement.
        let o = org(grants(&[(BILLING, "invoices:read")]));
        let c = client(
            ClientKind::Org { org_id: o.id.clone() },
            grants(&[(BILLING, "invoices:read invoices:write")]),
        );
        let g = grant(&c, Some(&o), None, &req(None, &[])).unwrap();
        assert_eq!(g.scope, scopes("invoices:read"));
        assert!(matches!(
            grant(&c, Some(&o), None, &req(Some("invoices:write"), &[])),
            Err(GrantError::InvalidScope(_))
        ));
        let nothing = org(Grants::new());
        let c = client(ClientKind::Org { org_id: nothing.id.clone() }, grants(&[(BILLING, "invoices:read")]));
        assert_eq!(grant(&c, Some(&nothing), None, &req(None, &[])), Err(GrantError::NothingGranted));
    }

    #[test]
    fn unknown_or_ungranted_resources_are_invalid_target() {
        let o = org(grants(&[(BILLING, "invoices:read"), (FILES, "files:read")]));
        let c = client(ClientKind::Org { org_id: o.id.clone() }, grants(&[(BILLING, "invoices:read")]));
        assert!(matches!(grant(&c, Some(&o), None, &req(None, &[FILES])), Err(GrantError::InvalidTarget(_))));
        assert!(matches!(
            grant(&c, Some(&o), None, &req(None, &["https://unknown.example.com"])),
            Err(GrantError::InvalidTarget(_))
        ));
    }

    #[test]
    fn several_resources_need_a_choice_and_audiences_are_sorted() {
        let g2 = grants(&[(FILES, "files:read"), (BILLING, "invoices:read")]);
        let c = client(ClientKind::Service, g2);
        assert!(matches!(grant(&c, None, None, &req(None, &[])), Err(GrantError::InvalidTarget(_))));
        // Two resources that share no scope cannot share a token.
        let apart = grant(&c, None, None, &req(None, &[FILES, BILLING, FILES])).unwrap_err();
        assert!(matches!(apart, GrantError::InvalidScope(_)), "{apart:?}");
        // A requested scope picks the resource that grants it.
        let g = grant(&c, None, None, &req(Some("files:read"), &[])).unwrap();
        assert_eq!(g.audiences, vec![uri(FILES)]);
        // A scope of another selected resource is not granted for this one.
        assert!(matches!(
            grant(&c, None, None, &req(Some("files:read"), &[BILLING])),
            Err(GrantError::InvalidScope(_))
        ));
        assert_eq!(g.org_id, None);
    }

    #[test]
    fn audiences_never_pool_their_scopes() {
        // A grants read and write, B only read: no token lets B's API accept write.
        let c = client(ClientKind::Service, grants(&[(BILLING, "read write"), (FILES, "read")]));
        let both = grant(&c, None, None, &req(Some("read write"), &[BILLING, FILES])).unwrap_err();
        assert_eq!(both, GrantError::InvalidScope("scope not granted on every resource named: write".into()));
        // Without `resource`, a scope two granted resources define names neither.
        assert!(matches!(
            grant(&c, None, None, &req(Some("read write"), &[])),
            Err(GrantError::InvalidTarget(_))
        ));
        assert!(matches!(grant(&c, None, None, &req(Some("read"), &[])), Err(GrantError::InvalidTarget(_))));
        // A scope only one resource defines picks it; both resources named get what both grant.
        assert_eq!(grant(&c, None, None, &req(Some("write"), &[])).unwrap().audiences, vec![uri(BILLING)]);
        let shared = grant(&c, None, None, &req(None, &[BILLING, FILES])).unwrap();
        assert_eq!((shared.audiences.len(), shared.scope), (2, scopes("read")));
    }

    #[test]
    fn writs_own_apis_never_share_a_token() {
        let admin = crate::ADMIN_AUDIENCE;
        let c = client(ClientKind::Service, grants(&[(BILLING, "read"), (admin, "read admin:orgs:read")]));
        let mixed = grant(&c, None, None, &req(Some("read"), &[BILLING, admin])).unwrap_err();
        assert!(matches!(mixed, GrantError::InvalidTarget(_)), "{mixed:?}");
        let split = grant(&c, None, None, &req(Some("admin:orgs:read"), &[])).unwrap();
        assert_eq!(split.audiences, vec![uri(admin)]);
        let split = grant(&c, None, None, &req(Some("read"), &[BILLING])).unwrap();
        assert_eq!(split.audiences, vec![uri(BILLING)]);
    }

    #[test]
    fn disabled_client_or_suspended_org_or_wrong_org_is_inactive() {
        let mut o = org(grants(&[(BILLING, "invoices:read")]));
        let mut c = client(ClientKind::Org { org_id: o.id.clone() }, grants(&[(BILLING, "invoices:read")]));
        c.status = Status::Disabled;
        assert_eq!(grant(&c, Some(&o), None, &req(None, &[])), Err(GrantError::Inactive("client disabled")));
        c.status = Status::Active;
        o.status = OrgStatus::Suspended;
        assert_eq!(grant(&c, Some(&o), None, &req(None, &[])), Err(GrantError::Inactive("org suspended")));
        let other = org(grants(&[(BILLING, "invoices:read")]));
        assert_eq!(grant(&c, Some(&other), None, &req(None, &[])), Err(GrantError::Inactive("org missing")));
        assert_eq!(grant(&c, None, None, &req(None, &[])), Err(GrantError::Inactive("org missing")));
    }

    #[test]
    fn user_clients_never_exceed_the_user() {
        let o = org(grants(&[(BILLING, "invoices:read invoices:write")]));
        let mut u = user(&o, grants(&[(BILLING, "invoices:read")]));
        let kind = ClientKind::User { org_id: o.id.clone(), user_id: u.id.clone() };
        let c = client(kind, grants(&[(BILLING, "invoices:read invoices:write")]));
        let g = grant(&c, Some(&o), Some(&u), &req(None, &[])).unwrap();
        assert_eq!(g.scope, scopes("invoices:read"));
        assert_eq!(g.user_id.as_ref(), Some(&u.id));
        assert_eq!(g.org_id.as_ref(), Some(&o.id));
        assert!(matches!(
            grant(&c, Some(&o), Some(&u), &req(Some("invoices:write"), &[])),
            Err(GrantError::InvalidScope(_))
        ));
        assert_eq!(grant(&c, Some(&o), None, &req(None, &[])), Err(GrantError::Inactive("user missing")));
        u.status = Status::Disabled;
        assert_eq!(
            grant(&c, Some(&o), Some(&u), &req(None, &[])),
            Err(GrantError::Inactive("user disabled"))
        );
    }

    #[test]
    fn a_person_grants_at_most_what_client_org_and_person_all_allow() {
        let acme = org(grants(&[
            (BILLING, "read write"),
            (FILES, "read"),
            (crate::ADMIN_AUDIENCE, "admin:users:read"),
        ]));
        let ann = user(
            &acme,
            grants(&[(BILLING, "read"), (FILES, "read"), (crate::ADMIN_AUDIENCE, "admin:users:read")]),
        );
        let agent = client(
            ClientKind::Org { org_id: acme.id.clone() },
            grants(&[(BILLING, "read write"), (crate::ADMIN_AUDIENCE, "admin:users:read")]),
        );
        let g = delegated(&agent, &acme, &ann, &req(None, &[BILLING])).unwrap();
        assert_eq!(
            (g.scope, g.user_id.as_ref(), g.org_id.as_ref()),
            (scopes("read"), Some(&ann.id), Some(&acme.id))
        );
        let more = delegated(&agent, &acme, &ann, &req(Some("write"), &[BILLING]));
        assert!(matches!(more, Err(GrantError::InvalidScope(_))), "the person does not hold write");
        let files = delegated(&agent, &acme, &ann, &req(None, &[FILES]));
        assert!(matches!(files, Err(GrantError::InvalidTarget(_))), "the client is not granted files");
        let admin = delegated(&agent, &acme, &ann, &req(None, &[crate::ADMIN_AUDIENCE]));
        assert!(matches!(admin, Err(GrantError::InvalidTarget(_))), "Writ's own APIs are never delegated");

        // An org client acts for its own org's people only; a service client for anyone's.
        let other = org(grants(&[(BILLING, "read")]));
        let bob = user(&other, grants(&[(BILLING, "read")]));
        assert!(matches!(
            delegated(&agent, &other, &bob, &req(None, &[BILLING])),
            Err(GrantError::Inactive(_))
        ));
        let service = client(ClientKind::Service, grants(&[(BILLING, "read")]));
        assert!(delegated(&service, &other, &bob, &req(None, &[BILLING])).is_ok());
        let mut disabled = bob.clone();
        disabled.status = Status::Disabled;
        assert!(matches!(
            delegated(&service, &other, &disabled, &req(None, &[BILLING])),
            Err(GrantError::Inactive(_))
        ));
        // A user client acts for its own user alone.
        let own = client(
            ClientKind::User { org_id: acme.id.clone(), user_id: ann.id.clone() },
            grants(&[(BILLING, "read")]),
        );
        assert!(delegated(&own, &acme, &ann, &req(None, &[BILLING])).is_ok());
        let ann2 = user(&acme, grants(&[(BILLING, "read")]));
        assert!(matches!(
            delegated(&own, &acme, &ann2, &req(None, &[BILLING])),
            Err(GrantError::Inactive(_))
        ));
    }
}
