//! The payments service: a machine client that calls the billing API with a client-credentials
//! token from writ-verify's `TokenSource` (fetched once, renewed before it expires).
//!
//! `WRIT_URL` (default http://localhost:8080, the issuer of `writ serve`), `BILLING_URL` (default http://127.0.0.1:8090),
//! `PAYMENTS_CLIENT_ID`, `PAYMENTS_CLIENT_SECRET`.

mod client;

use writ_verify::TokenSource;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let issuer = std::env::var("WRIT_URL").unwrap_or_else(|_| "http://localhost:8080".into());
    let billing = std::env::var("BILLING_URL").unwrap_or_else(|_| "http://127.0.0.1:8090".into());
    let source = TokenSource::new(
        format!("{issuer}/oauth/token"),
        std::env::var("PAYMENTS_CLIENT_ID")?,
        std::env::var("PAYMENTS_CLIENT_SECRET")?,
        Some("https://api.example.com/billing"),
        None,
    );
    let http = writ_verify::http_client();
    for amount in [1200, 4500, 990] {
        let (status, body) = client::invoice(&http, &source, &billing, amount).await?;
        println!("POST /billing/invoices {amount} → {status} {body}");
    }
    println!("tokens fetched: {} for 3 calls", source.fetches());
    Ok(())
}
