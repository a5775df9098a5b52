//! The billing API: takes Writ tokens for `https://api.example.com/billing`, verifies them
//! locally, requires `invoices:read` or `invoices:write` per route, follows the revocation feed,
//! and serves its RFC 9728 metadata. See the README's "Two services" walk-through.
//!
//! `WRIT_URL` (default http://localhost:8080, the issuer of `writ serve`), `BILLING_ADDR` (default 127.0.0.1:8090), and to follow
//! revocations a client with `guard:revocations:read`: `GUARD_CLIENT_ID`, `GUARD_CLIENT_SECRET`.

mod app;

use actix_web::{App, HttpServer};
use writ_verify::actix::Protection;
use writ_verify::{RevocationFollower, TokenSource, Verifier, VerifierConfig};

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("WRIT_URL").unwrap_or_else(|_| "http://localhost:8080".into());
    let addr = std::env::var("BILLING_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let verifier = Verifier::new(VerifierConfig::new(&issuer, app::BILLING)).await?;
    if let (Ok(id), Ok(secret)) = (std::env::var("GUARD_CLIENT_ID"), std::env::var("GUARD_CLIENT_SECRET")) {
        let source =
            TokenSource::new(format!("{issuer}/oauth/token"), id, secret, Some("urn:writ:guard"), None);
        verifier.follow_revocations(RevocationFollower::start(&issuer, source));
    }
    let metadata = app::metadata(&issuer);
    let protection = Protection::new(verifier).described_by(&metadata);
    println!("billing API on http://{addr}/billing/invoices");
    HttpServer::new(move || {
        App::new().app_data(protection.clone()).configure(app::routes).configure(metadata.routes())
    })
    .bind(&addr)?
    .run()
    .await?;
    Ok(())
}
