//! Verifications per second on one thread: fresh tokens (a signature check each) and a token seen
//! before (the cache). A throwaway JWKS server on loopback stands in for Writ.
//!
//! `cargo run --release -p writ-verify --example bench [tokens]`

use std::io::{Read, Write};
use std::time::Instant;

use writ_core::{KeyState, SigningAlg};
use writ_token::{AccessClaims, Audience, Kek, KeyRing, generate_key};
use writ_verify::{RevocationFollower, TokenSource, Verifier, VerifierConfig};

const ISSUER: &str = "https://writ.example.com";
const AUDIENCE: &str = "https://api.example.com/billing";

/// Answers every request with `body`, on a thread of its own; returns the URL.
fn serve(body: Vec<u8>) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/jwks.json", listener.local_addr()?);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
    });
    Ok(url)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let kek = Kek::new([7; 32]);
    let ring = KeyRing::load(&[generate_key(SigningAlg::ES256, KeyState::Active, &kek)?], &kek)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tokens = (0..n)
        .map(|i| {
            let claims = AccessClaims {
                iss: ISSUER.into(),
                sub: "cli_01jd8x4c5d0a1b2c3d4e5f6g7h".into(),
                client_id: "cli_01jd8x4c5d0a1b2c3d4e5f6g7h".into(),
                aud: Audience::One(AUDIENCE.into()),
                scope: "invoices:read invoices:write".into(),
                iat: now,
                nbf: now,
                exp: now + 3600,
                jti: format!("01jd8x4c5d0a1b2c3d4e{i:06}"),
                oid: Some("org_01jd8x4c2v9q0m7k3n5p6r8s0t".into()),
                uid: None,
                cred: None,
            };
            ring.sign(SigningAlg::ES256, writ_token::TOKEN_TYPE, &claims).map(|(t, _)| t)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = VerifierConfig::new(ISSUER, AUDIENCE);
    config.jwks_uri = Some(serve(ring.jwks_json().to_vec())?);
    config.cache_capacity = 0;
    let fresh = Verifier::new(config.clone()).await?;
    let started = Instant::now();
    for t in &tokens {
        fresh.verify(t).await?;
    }
    let per_sec = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "fresh ES256 tokens: {per_sec:.0} verifications/s on one thread ({n} tokens, {} bytes each)",
        tokens[0].len()
    );

    config.cache_capacity = 10_000;
    let rounds = n * 100;
    let cached = Verifier::new(config).await?;
    for label in ["a token seen before", "a token seen before, revocations followed"] {
        cached.verify(&tokens[0]).await?;
        let started = Instant::now();
        for _ in 0..rounds {
            cached.verify(&tokens[0]).await?;
        }
        let per_sec = rounds as f64 / started.elapsed().as_secs_f64();
        println!("{label}: {per_sec:.0} verifications/s on one thread ({rounds} verifications)");
        // The second round adds the follower's check (its feed is unreachable here: it fails open
        // and holds a thousand revoked jtis of other tokens).
        let source = TokenSource::new("http://127.0.0.1:1/oauth/token", "cli_x", "secret", None, None);
        let follower = RevocationFollower::start("http://127.0.0.1:1", source);
        follower.preload((0..1000).map(|i| format!("other-{i}")));
        cached.follow_revocations(follower);
    }
    Ok(())
}
