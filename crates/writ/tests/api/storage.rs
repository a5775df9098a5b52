//! Migrations and repositories on each backend: up → down → up, conflicts and missing rows.

use sea_orm_migration::MigratorTrait;
use writ_core::{Metadata, Name, Org, OrgId, OrgStatus, Slug};
use writ_store::{IdempotencyKeys, Orgs, Store, StoreError, Tenant};
use writ_testkit::count_rows;
use writ_testkit::{Backend, TestDb};

async fn migrations_go_up_down_and_up(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    // One connection: on SQLite in WAL mode, another pooled connection still reading an older
    // snapshot would see the tables `down` dropped, and `up` would trip over their indexes.
    let store = Store::connect_with(&db.url, 1).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(count_rows(store.conn(), "orgs").await.unwrap(), 0);
    writ_migration::Migrator::down(store.conn(), None).await.unwrap();
    assert!(count_rows(store.conn(), "orgs").await.is_err(), "tables are gone after down");
    assert!(count_rows(store.conn(), "audit_events").await.is_err());
    store.migrate().await.unwrap();
    assert_eq!(count_rows(store.conn(), "client_secrets").await.unwrap(), 0);
    store.close().await.unwrap();
}

fn org(slug: &str) -> Org {
    let now = writ_core::now();
    Org {
        id: OrgId::generate(),
        name: Name::parse(slug).unwrap(),
        slug: Slug::parse(slug).unwrap(),
        status: OrgStatus::Active,
        metadata: Metadata::default(),
        rate_limits: Default::default(),
        login: Default::default(),
        url_clients: Default::default(),
        entitlements: Default::default(),
        created_at: now,
        updated_at: now,
    }
}

async fn conflicts_and_missing_rows_become_domain_errors(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let op = Tenant::Operator;
    let orgs = Orgs::new(store.conn(), &op);
    let acme = org("acme");
    orgs.create(&acme).await.unwrap();
    assert!(matches!(orgs.create(&org("acme")).await, Err(StoreError::Conflict(_))));
    assert!(matches!(orgs.get(&OrgId::generate()).await, Err(StoreError::NotFound)));
    assert_eq!(orgs.get(&acme.id).await.unwrap(), acme.clone());

    // A repository built for another tenant cannot see acme, nor create orgs.
    let other = Tenant::Org(OrgId::generate());
    let scoped = Orgs::new(store.conn(), &other);
    assert!(matches!(scoped.get(&acme.id).await, Err(StoreError::NotFound)));
    assert!(scoped.list(&Default::default()).await.unwrap().items.is_empty());
    assert!(matches!(scoped.create(&org("beta")).await, Err(StoreError::NotFound)));

    // Idempotency keys: one claim per (owner, key); a running claim is taken over only when stale;
    // expired keys are forgotten.
    let keys = IdempotencyKeys::new(store.conn());
    let now = writ_core::now();
    let (minute, day) = (time::Duration::minutes(1), time::Duration::hours(24));
    assert!(keys.claim("cli_a", "k1", "h1", now, now - day).await.unwrap().is_none());
    assert!(keys.claim("cli_b", "k1", "h2", now, now - day).await.unwrap().is_none(), "keys are per owner");
    let used = keys.claim("cli_a", "k1", "h9", now, now - day).await.unwrap().unwrap();
    assert_eq!((used.request_hash.as_str(), used.status), ("h1", None));
    assert!(!keys.take_over("cli_a", "k1", now, now - minute).await.unwrap(), "still fresh");
    assert!(keys.take_over("cli_a", "k1", now + minute * 2, now + minute).await.unwrap(), "stale");
    keys.complete("cli_a", "k1", 201, b"sealed".to_vec()).await.unwrap();
    let used = keys.claim("cli_a", "k1", "h1", now, now - day).await.unwrap().unwrap();
    assert_eq!((used.status, used.response.as_deref()), (Some(201), Some(&b"sealed"[..])));
    assert!(!keys.take_over("cli_a", "k1", now + day, now + day).await.unwrap(), "finished keys stay");
    assert!(keys.claim("cli_a", "k1", "h3", now + day * 2, now + day).await.unwrap().is_none(), "expired");
    keys.release("cli_a", "k1").await.unwrap();
    assert!(keys.claim("cli_a", "k1", "h4", now, now - day).await.unwrap().is_none(), "released");
    store.close().await.unwrap();
}

#[tokio::test]
async fn migrations_sqlite() {
    migrations_go_up_down_and_up(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_postgres() {
    migrations_go_up_down_and_up(Backend::Postgres).await;
}

#[tokio::test]
async fn repositories_sqlite() {
    conflicts_and_missing_rows_become_domain_errors(Backend::Sqlite).await;
}

#[tokio::test]
async fn repositories_postgres() {
    conflicts_and_missing_rows_become_domain_errors(Backend::Postgres).await;
}

/// On a current-thread runtime the writer cannot run before `shutdown` yields, so every record
/// counted here was written by the shutdown flush.
#[tokio::test(flavor = "current_thread")]
async fn clients_created_in_bulk_load_back_whole_sqlite() {
    clients_created_in_bulk_load_back_whole(Backend::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn clients_created_in_bulk_load_back_whole_postgres() {
    clients_created_in_bulk_load_back_whole(Backend::Postgres).await;
}

/// `create_many` (Postgres: one JSON parameter per table) stores every field of clients, grants
/// and secrets, across SQLite's 500-row chunks, and refuses a batch holding another tenant's client.
async fn clients_created_in_bulk_load_back_whole(backend: Backend) {
    use writ_core::{Client, ClientId, ClientKind, Grants, Resource, ResourceId, ResourceUri, ScopeDef};
    use writ_core::{ScopeName, ScopeSet, Status, TokenTtl};
    use writ_store::{Clients, Resources, load_credentials};
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let op = Tenant::Operator;
    let now = writ_core::now();
    let api = ResourceUri::parse("https://api.example.com/bulk").unwrap();
    let scopes = ["a:read", "b:write"];
    Resources::new(store.conn())
        .create(&Resource {
            id: ResourceId::generate(),
            identifier: api.clone(),
            name: Name::parse("Bulk").unwrap(),
            scopes: scopes
                .iter()
                .map(|s| ScopeDef { name: ScopeName::parse(s).unwrap(), description: String::new() })
                .collect(),
            builtin: false,
            signing_alg: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let acme = org("bulk");
    Orgs::new(store.conn(), &op).create(&acme).await.unwrap();
    let mut grants = Grants::new();
    grants.add(api, ScopeSet::parse("b:write a:read").unwrap());
    let pepper = writ_core::secret::Pepper::new([7; 32]);
    let batch: Vec<_> = (0..620)
        .map(|i| {
            let client = Client {
                id: ClientId::generate(),
                kind: ClientKind::Org { org_id: acme.id.clone() },
                name: Name::parse(&format!("bulk \"{i}\" é")).unwrap(),
                status: if i % 2 == 0 { Status::Active } else { Status::Disabled },
                token_ttl: TokenTtl::new(600 + i).unwrap(),
                grants: grants.clone(),
                metadata: Metadata::parse(serde_json::json!({ "n": i.to_string(), "team": "o'brien" }))
                    .unwrap(),
                rate_limits: writ_core::RateLimits { per_second: Some(5), ..Default::default() },
                auth_methods: Default::default(),
                keys: None,
                delegation: Default::default(),
                created_at: now,
                updated_at: now,
            };
            let (_, mut secret) = writ_app::secrets::new_secret(&client.id, &pepper, now).unwrap();
            secret.expires_at = (i == 3).then(|| now + time::Duration::days(30));
            (client, secret)
        })
        .collect();

    let other = Tenant::Org(OrgId::generate());
    assert!(matches!(
        Clients::new(store.conn(), &other).create_many(&batch).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(count_rows(store.conn(), "clients").await.unwrap(), 0, "nothing half-written");

    Clients::new(store.conn(), &op).create_many(&batch).await.unwrap();
    assert_eq!(count_rows(store.conn(), "clients").await.unwrap(), 620);
    assert_eq!(count_rows(store.conn(), "client_grants").await.unwrap(), 1240);
    for (client, secret) in [&batch[0], &batch[3], &batch[619]] {
        let loaded = load_credentials(store.conn(), &client.id).await.unwrap().unwrap();
        assert_eq!(&loaded.client, client);
        assert_eq!(loaded.secrets, vec![secret.clone()]);
        assert_eq!(loaded.org.as_ref().map(|o| &o.id), Some(&acme.id));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_audit_writer_writes_everything_queued_before_shutdown_sqlite() {
    audit_writer_writes_everything_queued_before_shutdown(Backend::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_audit_writer_writes_everything_queued_before_shutdown_postgres() {
    audit_writer_writes_everything_queued_before_shutdown(Backend::Postgres).await;
}

async fn audit_writer_writes_everything_queued_before_shutdown(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let writer = writ_app::audit::AuditWriter::with_store(store.clone());
    let client = writ_core::ClientId::generate();
    let mut sample = writ_core::AuditEvent::new(
        writ_core::Actor::Client(client.clone()),
        Some(OrgId::generate()),
        "test.event",
        Some("jti-\"quoted\"".into()),
    )
    .with_details(serde_json::json!({ "scope": "a b", "nested": { "n": [1, 2] }, "text": "é\n" }));
    sample.ip = Some("203.0.113.9".into());
    sample.request_id = Some("req-1".into());
    writer.record(sample.clone());
    for i in 1..2500 {
        let event =
            writ_core::AuditEvent::new(writ_core::Actor::System, None, "test.event", Some(i.to_string()));
        writer.record(event);
    }
    writer.shutdown().await;
    assert_eq!(count_rows(store.conn(), "audit_events").await.unwrap(), 2500);
    // Every column arrives as written (Postgres takes a batch as one JSON document).
    let all = writ_store::Audit::new(store.conn())
        .list(
            &Tenant::Operator,
            &writ_store::Page { limit: 10, after: None },
            &writ_store::AuditFilter { actor: Some(client.to_string()), ..Default::default() },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), 1);
    let stored = &all[0];
    assert_eq!(
        (&stored.actor, &stored.org_id, &stored.target_id, &stored.ip, &stored.request_id, &stored.details),
        (&sample.actor, &sample.org_id, &sample.target_id, &sample.ip, &sample.request_id, &sample.details)
    );
    assert_eq!(
        stored.occurred_at.unix_timestamp_nanos() / 1_000,
        sample.occurred_at.unix_timestamp_nanos() / 1_000
    );
    assert_eq!(writer.dropped(), 0);
    assert_eq!(writer.written(), 2500);
    writer.record(writ_core::AuditEvent::new(writ_core::Actor::System, None, "late", None));
    assert_eq!(writer.dropped(), 1, "after shutdown a record is counted as dropped, never lost silently");
}

/// On SQLite, write transactions of one process queue for the file's one writer, across stores of
/// the same file (the server's pool and the audit writer's): the second waits, starts once the
/// first commits, and a transaction dropped uncommitted gives its turn up. (What the queue saves,
/// SQLite's busy-handler sleeps, is measured by `cargo xtask bench --delegated`, not here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_queue_in_the_process() {
    use std::time::Duration;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let (a, b) = (Store::connect(&db.url).await.unwrap(), Store::connect_with(&db.url, 2).await.unwrap());
    a.migrate().await.unwrap();
    let first = a.begin().await.unwrap();
    Orgs::new(&first, &Tenant::Operator).create(&org("first")).await.unwrap();
    let waiting = tokio::spawn(async move {
        let second = b.begin().await.unwrap();
        Orgs::new(&second, &Tenant::Operator).create(&org("second")).await.unwrap();
        second.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "the second writer waits for the first");
    first.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("and starts once it commits").unwrap();
    assert_eq!(count_rows(a.conn(), "orgs").await.unwrap(), 2);
    // A transaction dropped without a commit lets the next one in too.
    drop(a.begin().await.unwrap());
    tokio::time::timeout(Duration::from_secs(1), a.begin())
        .await
        .expect("not held by a dropped one")
        .unwrap();
}
