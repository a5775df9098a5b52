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
        slug: Slug::parse(&format!("bench-{}", now.unix_timestamp())).map_err(invalid)?,
        status: OrgStatus::Active,
        metadata: Metadata::default(),
        entitlements: grants.clone(),
        rate_limits: Default::default(),
        login: Default::default(),
        created_at: now,
        updated_at: now,
    };
    let operator = Tenant::Operator;
    Orgs::new(ctx.store.conn(), &operator).create(&org).await.map_err(err)?;

    // Secrets in the clear: readable by the owner only, like every secret file Writ writes.
    let file = {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(out)
            .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)).map(|()| f))
    };
    let mut file = std::io::BufWriter::new(file.map_err(|e| e.to_string())?);
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
