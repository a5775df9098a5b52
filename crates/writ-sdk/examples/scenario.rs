//! The SDK scenario CI runs against a live `writ serve`: with the operator's credential, create a
//! resource, an org entitled to it and a client of that org, all through the generated admin
//! client; then fetch a token with the new client's credential through the generated issuer client.
//!
//! `WRIT_URL` (default `http://127.0.0.1:8080`), `WRIT_CLIENT_ID`, `WRIT_CLIENT_SECRET`.

use writ_sdk::{admin, issuer};

type Error = Box<dyn std::error::Error>;

async fn token(
    issuer: &issuer::Client,
    id: &str,
    secret: &str,
    resource: &str,
) -> Result<issuer::types::TokenResponse, Error> {
    let answer = issuer
        .token()
        .body_map(|b| {
            b.grant_type("client_credentials")
                .client_id(Some(id.to_owned()))
                .client_secret(Some(secret.to_owned()))
                .resource(Some(resource.to_owned()))
        })
        .send()
        .await?;
    Ok(answer.into_inner())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let url = std::env::var("WRIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let (op_id, op_secret) = (std::env::var("WRIT_CLIENT_ID")?, std::env::var("WRIT_CLIENT_SECRET")?);
    let issuer = issuer::Client::new(&url);

    let op = token(&issuer, &op_id, &op_secret, "urn:writ:admin").await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {}", op.access_token).parse()?);
    let admin =
        admin::Client::new_with_client(&url, reqwest::Client::builder().default_headers(headers).build()?);

    let run = std::process::id();
    let api = format!("https://api.example.com/sdk-rust-{run}");
    let resource = admin
        .create_resource()
        .body_map(|b| {
            b.identifier(api.clone()).name("SDK scenario").scopes(vec![admin::types::ScopeDto {
                name: "things:read".parse().expect("a scope name"),
                description: Some("Read things".parse().expect("a description")),
            }])
        })
        .send()
        .await?;
    // The generated types hold the documents' limits: a value out of them does not parse.
    let grant = admin::types::GrantDto { resource: api.parse()?, scopes: vec!["things:read".parse()?] };
    if "things read".parse::<admin::types::GrantDtoScopesItem>().is_ok() {
        return Err("a scope with a space parsed".into());
    }
    let org = admin
        .create_org()
        .idempotency_key(format!("sdk-rust-org-{run}"))
        .body_map(|b| {
            b.name("SDK scenario").slug(format!("sdk-rust-{run}")).entitlements(vec![grant.clone()])
        })
        .send()
        .await?;
    let client = admin
        .create_client()
        .body_map(|b| {
            b.name("sdk-rust")
                .kind("org")
                .org_id(Some(org.id.parse().expect("an org id")))
                .grants(vec![grant])
        })
        .send()
        .await?;

    let secret = client.client_secret.as_deref().ok_or("a client created without keys has a secret")?;
    let issued = token(&issuer, &client.client_id, secret, &api).await?;
    if issued.token_type != "Bearer"
        || issued.scope != "things:read"
        || issued.access_token.matches('.').count() != 2
    {
        return Err(format!("unexpected token answer: {issued:?}").into());
    }
    // An error answer decodes into the problem document.
    match admin.get_org().org_id("org_00000000000000000000000000").send().await {
        Err(progenitor_client::Error::ErrorResponse(problem)) if problem.code == "not_found" => {}
        other => return Err(format!("expected a not_found problem, got {other:?}").into()),
    }
    println!(
        "rust sdk: resource {} / org {} / client {} → token for {api} with scope `{}`",
        resource.id, org.id, client.client_id, issued.scope
    );
    Ok(())
}
