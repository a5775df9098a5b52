//! The audit log: events written in their change's transaction or by the batched writer, and read
//! back filtered by tenant, org, client, actor, action and time.

use super::*;

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

/// The action of an issuance record, by far the most frequent.
pub const ISSUED: &str = "token.issued";

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
                let (actor_kind, actor_id) = e.actor.parts();
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
        // Issuance records are nearly every row and the action, actor and target indexes leave them
        // out (migration 000006: each entry cost the token path more than the row); a filter that
        // excludes them says so, as a literal (a bound value proves the indexes' condition to
        // neither planner), so the planner may use them. Issuance records themselves are found by
        // org (its index) and by time (the id range below), as a page in id order.
        let not_issued = || Expr::cust(format!("action <> '{ISSUED}'"));
        match filter.action.as_deref() {
            Some(family) if family.ends_with(".*") => {
                let family = family.trim_end_matches(".*").replace(['%', '_'], "");
                q = q.filter(audit_events::Column::Action.like(format!("{family}.%")));
                if !ISSUED.starts_with(&format!("{family}.")) {
                    q = q.filter(not_issued());
                }
            }
            Some(action) => {
                q = q.filter(audit_events::Column::Action.eq(action));
                if action != ISSUED {
                    q = q.filter(not_issued());
                }
            }
            None => {}
        }
        if let Some(actor) = &filter.actor {
            q = q.filter(match actor.as_str() {
                "operator" | "system" => audit_events::Column::ActorKind.eq(actor.as_str()),
                id => audit_events::Column::ActorId.eq(id),
            });
        }
        if let Some(client) = &filter.client {
            // Issuance records target a jti, never a client.
            q = q.filter(Condition::any().add(audit_events::Column::ActorId.eq(client.as_str())).add(
                Condition::all().add(audit_events::Column::TargetId.eq(client.as_str())).add(not_issued()),
            ));
        }
        // Ids begin with their creation time, read from the same clock as `occurred_at` a moment
        // apart: a range of ids a second wider than the time range finds the events by their
        // primary key (or the org's index) instead of reading the log from its start.
        let margin = time::Duration::seconds(1);
        if let Some(since) = filter.since {
            q = q
                .filter(audit_events::Column::OccurredAt.gte(since))
                .filter(audit_events::Column::Id.gte(writ_core::EventId::floor(since - margin)));
        }
        if let Some(until) = filter.until {
            q = q
                .filter(audit_events::Column::OccurredAt.lt(until))
                .filter(audit_events::Column::Id.lt(writ_core::EventId::floor(until + margin)));
        }
        let (rows, next) =
            paged(self.c, q, audit_events::Column::Id, page, |m: &audit_events::Model| m.id.clone()).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let actor = match (r.actor_kind.as_str(), r.actor_id.as_deref()) {
                    ("client", Some(id)) => Actor::Client(ClientId::parse(id)?),
                    ("user", Some(id)) => Actor::User(UserId::parse(id)?),
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

fn audit_row(e: &AuditEvent) -> audit_events::ActiveModel {
    let (actor_kind, actor_id) = e.actor.parts();
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
