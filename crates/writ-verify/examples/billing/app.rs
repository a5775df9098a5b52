//! The billing API of the example: invoices, verified locally with writ-verify, a scope per route.

use actix_web::{HttpResponse, web};
use serde_json::json;
use writ_verify::actix::{ProtectedResource, Scoped};

writ_verify::scopes!(InvoicesRead => "invoices:read", InvoicesWrite => "invoices:write");

/// The billing API's identifier: the audience of the tokens it takes.
pub const BILLING: &str = "https://api.example.com/billing";

/// RFC 9728 metadata of the billing API.
pub fn metadata(issuer: &str) -> ProtectedResource {
    ProtectedResource::new(BILLING, issuer).scopes(&["invoices:read", "invoices:write"]).name("Billing")
}

async fn list(caller: Scoped<InvoicesRead>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "data": [], "caller": caller.client_id }))
}

async fn create(caller: Scoped<InvoicesWrite>, body: web::Json<serde_json::Value>) -> HttpResponse {
    let amount = body["amount_cents"].as_u64().unwrap_or(0);
    HttpResponse::Created()
        .json(json!({ "id": "inv_1", "amount_cents": amount, "created_by": caller.client_id }))
}

/// The API's routes under `/billing`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/billing")
            .route("/invoices", web::get().to(list))
            .route("/invoices", web::post().to(create)),
    );
}
