//! `writ bench-seed`: many clients at once, for the benchmarks (`cargo xtask bench`). Hidden from
//! `--help`: it writes client credentials to a file, which nothing but a load test should want.

use std::io::Write;
use std::path::Path;

use writ_app::Deployment;
use writ_core::{
    Client, ClientId, ClientKind, Grants, Metadata, Name, Org, OrgId, OrgStatus, Resource, ResourceId,
    ResourceUri, ScopeDef, ScopeName, ScopeSet, Slug, Status, TokenTtl,
};
use writ_store::{Clients, Orgs, Resources, StoreError, Tenant};

/// The API the benchmark's clients are granted.
pub const BENCH_RESOURCE: &str = "https://bench.writ.dev/api";

/// Creates `count` org clients granted `bench:read` on [`BENCH_RESOURCE`] and writes the first
/// `emit` of them to `out`, one `Authorization: Basic` value per line.
pub async fn seed(ctx: &Deployment, count: usize, emit: usize, out: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let now = ctx.clock.now();
    let err = |e: StoreError| e.to_string();
    let invalid = |e: writ_core::Invalid| e.to_string();
    let (org, grants) = bench_org(ctx, "bench").await?;
    let operator = Tenant::Operator;

    let mut file = private_file(out)?;
    let mut made = 0;
    while made < count {
        let n = (count - made).min(10_000);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let client = Client {
                id: ClientId::generate(),
                kind: ClientKind::Org { org_id: org.id.clone() },
                name: Name::parse(&format!("bench-{}", made + i)).map_err(invalid)?,
                status: Status::Active,
                token_ttl: TokenTtl::default(),
                grants: grants.clone(),
                metadata: Metadata::default(),
                rate_limits: Default::default(),
                auth_methods: Default::default(),
                keys: None,
                delegation: Default::default(),
                created_at: now,
                updated_at: now,
            };
            let (plain, secret) = writ_app::secrets::new_secret(&client.id, &ctx.pepper, ctx.clock.now())
                .map_err(|e| e.to_string())?;
            if made + i < emit {
                let basic = base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{}:{}", client.id, plain.expose()),
                );
                writeln!(file, "Basic {basic}").map_err(|e| e.to_string())?;
            }
            batch.push((client, secret));
        }
        let txn = ctx.store.begin().await.map_err(err)?;
        Clients::new(&txn, &operator).create_many(&batch).await.map_err(err)?;
        txn.commit().await.map_err(|e| StoreError::from(e).to_string())?;
        made += n;
    }
    file.flush().map_err(|e| e.to_string())?;
    eprintln!("seeded {count} clients in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The benchmark's API (created once) and a new org named `name-<now>` entitled to `bench:read`
/// on it; the org and that grant.
async fn bench_org(ctx: &Deployment, name: &str) -> Result<(Org, Grants), String> {
    let now = ctx.clock.now();
    let invalid = |e: writ_core::Invalid| e.to_string();
    let identifier = ResourceUri::parse(BENCH_RESOURCE).map_err(invalid)?;
    let scope = ScopeName::parse("bench:read").map_err(invalid)?;
    let resource = Resource {
        id: ResourceId::generate(),
        identifier: identifier.clone(),
        name: Name::parse("Benchmark API").map_err(invalid)?,
        scopes: vec![ScopeDef { name: scope.clone(), description: "Read benchmark data".into() }],
        builtin: false,
        signing_alg: None,
        created_at: now,
        updated_at: now,
    };
    match Resources::new(ctx.store.conn()).create(&resource).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => return Err(e.to_string()),
    }
    let mut grants = Grants::new();
    grants.add(identifier, ScopeSet::from_iter([scope]));
    let org = Org {
        id: OrgId::generate(),
        name: Name::parse("Benchmark").map_err(invalid)?,
        slug: Slug::parse(&format!("{name}-{}", now.unix_timestamp())).map_err(invalid)?,
        status: OrgStatus::Active,
        metadata: Metadata::default(),
        entitlements: grants.clone(),
        rate_limits: Default::default(),
        login: Default::default(),
        url_clients: Default::default(),
        created_at: now,
        updated_at: now,
    };
    Orgs::new(ctx.store.conn(), &Tenant::Operator).create(&org).await.map_err(|e| e.to_string())?;
    Ok((org, grants))
}

/// A file for credentials in the clear: readable by the owner only, like every secret file Writ
/// writes.
fn private_file(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)).map(|()| f));
    Ok(std::io::BufWriter::new(file.map_err(|e| format!("{}: {e}", path.display()))?))
}

/// The redirect URI and PKCE verifier of the benchmark's agent.
const REDIRECT_URI: &str = "http://127.0.0.1/callback";
const VERIFIER: &str = "bench-verifier-bench-verifier-bench-verifier-0123456789";

/// `writ bench-seed-people`: what the delegated grants' benchmark needs, straight into the
/// database — `people` users of a new org who consented to one public agent, each with an
/// authorization and its refresh token (`refresh.txt`), `codes` authorization codes ready to
/// exchange (`codes.txt`, valid for an hour rather than a minute, so a long run can use them),
/// and one person's session with a pending authorization request, for the consent page
/// (`page.txt`: cookie TAB path). Lines are in the requests-file shape of `xtask/bench/token.lua`.
pub async fn seed_people(ctx: &Deployment, people: usize, codes: usize, dir: &Path) -> Result<(), String> {
    use sha2::Digest as _;
    use writ_core::secret::{Kind, PlainSecret};
    use writ_store::{
        Authorization, AuthorizationRequests, Authorizations, Consent, Consents, LoginSession, LoginSessions,
        RefreshTokens, StoredRequest, Users,
    };

    let started = std::time::Instant::now();
    let people = people.max(1); // the codes are some person's
    let now = ctx.clock.now();
    let err = |e: StoreError| e.to_string();
    let invalid = |e: writ_core::Invalid| e.to_string();
    let secret = |kind| PlainSecret::generate_as(kind).map_err(|e| e.to_string());
    let (org, grants) = bench_org(ctx, "bench-people").await?;
    let operator = Tenant::Operator;
    let agent = Client {
        id: ClientId::generate(),
        kind: ClientKind::Org { org_id: org.id.clone() },
        name: Name::parse("Benchmark agent").map_err(invalid)?,
        status: Status::Active,
        token_ttl: TokenTtl::default(),
        grants: grants.clone(),
        metadata: Metadata::default(),
        // One agent serves every person: no per-client rate limit in its way.
        rate_limits: writ_core::RateLimits { per_second: Some(0), ..Default::default() },
        auth_methods: writ_core::AuthMethods::NONE,
        keys: None,
        delegation: writ_core::Delegation {
            client_type: writ_core::ClientType::Public,
            redirect_uris: vec![writ_core::delegation::RedirectUri::parse(REDIRECT_URI).map_err(invalid)?],
            grant_types: writ_core::GrantKinds::parse("authorization_code refresh_token").map_err(invalid)?,
            require_par: false,
            refresh: writ_core::RefreshLifetimes::DEFAULT,
            metadata_url: None,
            registration: None,
        },
        created_at: now,
        updated_at: now,
    };
    let txn = ctx.store.begin().await.map_err(err)?;
    Clients::new(&txn, &operator).create(&agent, None).await.map_err(err)?;
    let absolute = time::Duration::seconds(i64::from(agent.delegation.refresh.absolute));
    let idle = time::Duration::seconds(i64::from(agent.delegation.refresh.idle));
    let mut refresh = private_file(&dir.join("refresh.txt"))?;
    let mut people_made = Vec::with_capacity(people);
    let person = |i: usize| -> Result<writ_core::User, String> {
        Ok(writ_core::User {
            id: writ_core::UserId::generate(),
            org_id: org.id.clone(),
            email: writ_core::Email::parse(&format!("person{i}@bench.writ.dev")).map_err(invalid)?,
            external_id: None,
            password_hash: None,
            password_changed_at: None,
            status: Status::Active,
            grants: grants.clone(),
            created_at: now,
            updated_at: now,
        })
    };
    for i in 0..people {
        let user = person(i)?;
        Users::new(&txn, &operator).create(&user).await.map_err(err)?;
        let consent = Consent {
            id: writ_core::ConsentId::generate(),
            user_id: user.id.clone(),
            client_id: agent.id.clone(),
            org_id: org.id.clone(),
            grants: grants.clone(),
            created_at: now,
            updated_at: now,
        };
        Consents::new(&txn, &operator).save(&consent).await.map_err(err)?;
        let authorization = Authorization {
            id: writ_core::AuthorizationId::generate(),
            consent_id: consent.id.clone(),
            user_id: user.id.clone(),
            client_id: agent.id.clone(),
            org_id: org.id.clone(),
            scope: "bench:read".into(),
            resources: vec![BENCH_RESOURCE.into()],
            created_at: now,
            expires_at: now + absolute,
        };
        Authorizations::new(&txn).create(&authorization).await.map_err(err)?;
        let token = secret(Kind::RefreshToken)?;
        RefreshTokens::new(&txn)
            .create(&token.hash(&ctx.pepper), &authorization.id, now, now + idle)
            .await
            .map_err(err)?;
        writeln!(refresh, "\tclient_id={}&refresh_token={}", agent.id, token.expose())
            .map_err(|e| e.to_string())?;
        people_made.push(user.id);
    }
    refresh.flush().map_err(|e| e.to_string())?;

    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        sha2::Sha256::digest(VERIFIER.as_bytes()),
    );
    let params = writ_app::delegation::authorize::AuthorizationParams {
        redirect_uri: REDIRECT_URI.into(),
        redirect_uri_given: true,
        scope: Some("bench:read".into()),
        resources: vec![BENCH_RESOURCE.into()],
        state: None,
        code_challenge: challenge,
    };
    let params = serde_json::to_value(&params).map_err(|e| e.to_string())?;
    let request = |expires_at| StoredRequest {
        id: writ_core::RequestId::generate(),
        client_id: agent.id.clone(),
        params: params.clone(),
        pushed: false,
        user_id: None,
        code_expires_at: None,
        authorization_id: None,
        created_at: now,
        expires_at,
    };
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect();
    let mut file = private_file(&dir.join("codes.txt"))?;
    let requests = AuthorizationRequests::new(&txn);
    for i in 0..codes {
        let stored = request(now + time::Duration::hours(1));
        requests.create(&stored).await.map_err(err)?;
        let code = secret(Kind::AuthorizationCode)?;
        let person = &people_made[i % people_made.len()];
        requests
            .set_code(&stored.id, person, &code.hash(&ctx.pepper), now + time::Duration::hours(1))
            .await
            .map_err(err)?;
        writeln!(
            file,
            "\tclient_id={}&code={}&redirect_uri={redirect}&code_verifier={VERIFIER}",
            agent.id,
            code.expose()
        )
        .map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())?;

    // The consent page: a person logged in who has not consented yet, and a request of the
    // agent's waiting for them.
    let undecided = person(people)?;
    Users::new(&txn, &operator).create(&undecided).await.map_err(err)?;
    let pending = request(now + time::Duration::days(1));
    requests.create(&pending).await.map_err(err)?;
    let cookie = secret(Kind::Session)?;
    let session = LoginSession {
        id: writ_core::SessionId::generate(),
        user_id: undecided.id.clone(),
        created_at: now,
        expires_at: now + time::Duration::days(1),
    };
    LoginSessions::new(&txn).create(&session, &cookie.hash(&ctx.pepper)).await.map_err(err)?;
    let mut file = private_file(&dir.join("page.txt"))?;
    writeln!(file, "writ_session={}\t/oauth/consent?request={}", cookie.expose(), pending.id)
        .map_err(|e| e.to_string())?;
    file.flush().map_err(|e| e.to_string())?;
    txn.commit().await.map_err(|e| StoreError::from(e).to_string())?;
    eprintln!(
        "seeded {people} people with refresh tokens and {codes} codes in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
