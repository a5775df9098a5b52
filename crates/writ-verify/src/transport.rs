//! What every fetch of `writ-verify` holds to: HTTPS, except to this machine (a test, a sidecar);
//! no redirects ([`crate::http_client`]); and a bound on every body read, so an issuer that is not
//! what it claims, or a proxy in between, cannot make a resource server hold gigabytes.

/// The metadata document and the JWKS: a few kilobytes in practice.
pub(crate) const DOCUMENT_LIMIT: usize = 256 * 1024;
/// A token endpoint's answer.
pub(crate) const TOKEN_LIMIT: usize = 64 * 1024;
/// A page of the revocation feed: at most 1,000 entries of a few hundred bytes.
pub(crate) const FEED_LIMIT: usize = 4 * 1024 * 1024;
/// A snapshot: every live revocation (at ~200 bytes each, about 300,000).
pub(crate) const SNAPSHOT_LIMIT: usize = 64 * 1024 * 1024;

/// Refuses `url` unless it is `https://`, or `http://` to a loopback host.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("{url} is not an absolute URL"));
    };
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if scheme.eq_ignore_ascii_case("http") && loopback {
        Ok(())
    } else {
        Err(format!("{url} is not HTTPS (plain HTTP is allowed to loopback only)"))
    }
}

/// The JSON body of `res`, refused past `limit` bytes (before reading it when the length is
/// announced, else as soon as it is passed).
pub(crate) async fn json(mut res: reqwest::Response, limit: usize) -> Result<serde_json::Value, String> {
    let too_large = || format!("the answer exceeds {limit} bytes");
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_only() {
        for ok in [
            "https://auth.example.com",
            "HTTPS://auth.example.com/x",
            "http://localhost:8080",
            "http://127.0.0.1:9/oauth/token",
            "http://[::1]:8080/",
            "http://127.9.9.9",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://auth.example.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
            "http://user@10.0.0.1",
            "http://[2001:db8::1]/",
            "ftp://127.0.0.1",
            "auth.example.com",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url("http://localhost@evil.com").is_err(), "userinfo is not the host");
    }
}
