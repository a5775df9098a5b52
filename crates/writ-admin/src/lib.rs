//! The admin API (`/admin/v1`): orgs, resources and clients for the operator and tenant admins.
//!
//! Invariants: every handler names its required scope in its signature (`Authorized<…>`), reaches
//! org data only through tenant-built repositories, writes its audit event in the same transaction
//! as its change, and answers with DTOs built from domain values, never rows.

mod dto;
mod etag;
mod idempotency;
mod routes;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Registers the admin routes under `/admin/v1`.
/// The service, as a binary serves it.
pub const SERVICE: writ_http::server::Service =
    writ_http::server::Service { name: "admin", configure, openapi };

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    register(&mut ServiceConfig::new(cfg));
    writ_http::openapi::serve(cfg, "admin", openapi);
}

fn register(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/admin/v1")
            .wrap(actix_web::middleware::from_fn(idempotency::idempotency))
            .configure(routes::configure),
    );
}

/// The OpenAPI document of the admin API, collected from the registered routes.
pub fn openapi() -> serde_json::Value {
    let mut doc = writ_http::openapi::document(
        register,
        "Writ admin API",
        "Manage organizations, users, resources, machine clients, secrets, signing keys, revocations \
         and the audit log. Authenticate with a Writ access token for the audience `urn:writ:admin`; \
         each operation names the scope it requires. A tenant admin (an org client holding admin \
         scopes) sees only its own org. Errors are RFC 9457 problem+json documents with a stable \
         `code`. Lists are paged with `limit` and `after` (the previous page's `next_cursor`). \
         Every `POST` takes an `Idempotency-Key`; updates take `If-Match` with an `ETag`.",
    );
    writ_http::openapi::for_each_operation(&mut doc, |method, op| {
        if method == "post" {
            document_idempotency(op);
        }
    });
    document_limits(&mut doc);
    doc
}

/// The limits the request bodies' values are held to (`writ_core`'s validators), written into the
/// request schemas by property name, so a generated client or a fuzzer knows them.
fn document_limits(doc: &mut serde_json::Value) {
    use serde_json::json;
    use writ_core::{Metadata, Name, RateLimits, ResourceUri, ScopeName, TokenTtl};
    let id = |prefix: &str| json!({"pattern": format!("^{prefix}_[0-7][0-9a-hjkmnp-tv-z]{{25}}$")});
    let scope = json!({"pattern": format!("^[!#-\\[\\]-~]{{1,{}}}$", ScopeName::MAX_LEN)});
    let limits: Vec<(&str, serde_json::Value)> = vec![
        ("name", json!({"minLength": 1, "maxLength": Name::MAX_CHARS})),
        ("slug", json!({"minLength": 2, "maxLength": 63, "pattern": "^[a-z][a-z0-9-]*[a-z0-9]$"})),
        ("email", json!({"maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"})),
        ("external_id", json!({"minLength": 1, "maxLength": writ_core::ExternalId::MAX_LEN})),
        (
            "metadata",
            json!({
                "maxProperties": Metadata::MAX_KEYS,
                "propertyNames": {"minLength": 1, "maxLength": 40},
                "additionalProperties": {"type": "string", "maxLength": 500}
            }),
        ),
        ("token_ttl_seconds", json!({"minimum": TokenTtl::MIN, "maximum": TokenTtl::MAX})),
        ("per_second", json!({"maximum": RateLimits::MAX_RATE})),
        ("burst", json!({"maximum": RateLimits::MAX_RATE})),
        ("per_hour", json!({"maximum": RateLimits::MAX_QUOTA})),
        ("per_day", json!({"maximum": RateLimits::MAX_QUOTA})),
        ("identifier", json!({"minLength": 1, "maxLength": ResourceUri::MAX_LEN})),
        ("resource", json!({"minLength": 1, "maxLength": ResourceUri::MAX_LEN})),
        ("description", json!({"maxLength": writ_app::resources::MAX_DESCRIPTION})),
        ("org_id", id("org")),
        ("user_id", id("usr")),
        ("client_id", id("cli")),
        ("secret_id", id("sec")),
        ("kind", json!({"enum": ["org", "user", "service"]})),
        ("quota_mode", json!({"enum": ["enforce", "log_only"]})),
        (
            "jwks_uri",
            json!({"minLength": 1, "maxLength": ResourceUri::MAX_LEN, "pattern": "^[hH][tT][tT][pP][sS]?://"}),
        ),
        (
            "jwks",
            json!({
                "required": ["keys"],
                "properties": {"keys": {"type": "array", "minItems": 1, "maxItems": writ_app::federation::MAX_ISSUER_KEYS, "items": {"type": "object"}}}
            }),
        ),
        (
            "token_endpoint_auth_methods",
            json!({
                "minItems": 1,
                "items": {"type": "string", "enum": writ_core::AuthMethod::ALL.map(writ_core::AuthMethod::as_str)}
            }),
        ),
    ];
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    let requests = |name: &str| {
        ["Create", "Update", "Rotate", "Revoke"].iter().any(|p| name.starts_with(p))
            || matches!(name, "GrantDto" | "ScopeDto" | "RateLimitsDto")
    };
    for (_, schema) in schemas.iter_mut().filter(|(name, _)| requests(name)) {
        let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else { continue };
        for (property, rules) in &limits {
            if let Some(target) = properties.get_mut(*property).and_then(|p| p.as_object_mut()) {
                for (k, v) in rules.as_object().into_iter().flatten() {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(items) =
            properties.get_mut("scopes").and_then(|s| s.get_mut("items")).and_then(|i| i.as_object_mut())
            && items.get("type").and_then(|t| t.as_str()) == Some("string")
        {
            for (k, v) in scope.as_object().into_iter().flatten() {
                items.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(name) = schemas
        .get_mut("ScopeDto")
        .and_then(|s| s.pointer_mut("/properties/name"))
        .and_then(|n| n.as_object_mut())
    {
        // A scope's name is a scope, not a display name.
        name.insert("maxLength".into(), json!(ScopeName::MAX_LEN));
        for (k, v) in scope.as_object().into_iter().flatten() {
            name.insert(k.clone(), v.clone());
        }
    }
}

/// Every `POST` takes an `Idempotency-Key` (the middleware serves them all, so the document says so
/// for all of them rather than route by route).
fn document_idempotency(op: &mut serde_json::Value) {
    use serde_json::json;
    let key = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes a retry safe: the same key with the same body within 24 hours answers the \
            first answer again (with `Idempotent-Replayed: true`) and changes nothing; with another body \
            it is `422 idempotency_key_reused`; while the first request still runs, `409 \
            idempotency_key_in_use`. Keys are per client, 1 to 255 visible ASCII characters.",
        "schema": {"type": "string", "maxLength": 255},
        "example": "3f6c2a9e-8d1b-4f5e-9a77-1c2d3e4f5a6b"
    });
    if let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) {
        params.push(key);
    } else {
        op["parameters"] = json!([key]);
    }
    if op["responses"].get("409").is_none() {
        op["responses"]["409"] = json!({
            "description": "A request with the same `Idempotency-Key` is still running",
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": {"type": "about:blank", "title": "Conflict", "status": 409,
                            "detail": "a request with this Idempotency-Key is still running: retry shortly",
                            "code": "idempotency_key_in_use"}
            }}
        });
    }
}
