//! The payments service's call to the billing API, with a token from its `TokenSource`.

use writ_verify::TokenSource;

/// Creates an invoice at `billing_url`; (status, body).
pub async fn invoice(
    http: &reqwest::Client,
    source: &TokenSource,
    billing_url: &str,
    amount_cents: u64,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error + Send + Sync>> {
    let token = source.token().await?;
    let res = http
        .post(format!("{billing_url}/billing/invoices"))
        .bearer_auth(&*token)
        .json(&serde_json::json!({ "amount_cents": amount_cents }))
        .send()
        .await?;
    let status = res.status().as_u16();
    if status == 401 {
        // The token was revoked or the keys rotated under us: the next call gets a new one.
        source.invalidate();
    }
    Ok((status, res.json().await.unwrap_or_default()))
}
