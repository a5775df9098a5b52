//! The example MCP server on its own (docs/mcp.md):
//!
//! ```sh
//! WRIT_ISSUER=http://localhost:8080 MCP_URL=http://127.0.0.1:8090/mcp cargo run -p writ-example-mcp
//! ```
//!
//! `MCP_URL` is the server's resource identifier (register it in Writ as a resource with the
//! scopes `invoices:read` and `invoices:write`); it listens on that URL's host and port.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("WRIT_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let url = std::env::var("MCP_URL").unwrap_or_else(|_| "http://127.0.0.1:8090/mcp".into());
    let authority =
        url.split("://").nth(1).and_then(|r| r.split('/').next()).ok_or("MCP_URL is not a URL")?;
    let verifier = writ_verify::Verifier::new(writ_verify::VerifierConfig::new(&issuer, &url)).await?;
    let listener = tokio::net::TcpListener::bind(authority).await?;
    println!("MCP server at {url}, taking tokens of {issuer}");
    writ_example_mcp::McpServer::new(verifier, &url, &issuer).serve(listener).await;
    Ok(())
}
