//! The outbound fetcher (`writ_app::fetch`) against servers on this machine: one test per refusal,
//! and the cache, the single flight and the per-host limit counted at the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use writ_app::fetch::{FetchError, FetchPolicy, Fetcher};

/// A server on loopback answering every request with `answer(path)` (head and body, raw), after
/// `delay`; counts the requests.
pub async fn server(
    delay: Duration,
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (String, Arc<AtomicU64>) {
    let answer = Arc::new(answer);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let hits = Arc::new(AtomicU64::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::Relaxed);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                tokio::time::sleep(delay).await;
                let _ = stream.write_all(answer(&path).as_bytes()).await;
            });
        }
    });
    (base, hits)
}

pub fn ok(body: &str, cache_control: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: {cache_control}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn loopback() -> FetchPolicy {
    FetchPolicy { allow_loopback: true, ..FetchPolicy::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_fetcher_refuses() {
    let (base, hits) = server(Duration::ZERO, |_| ok(r#"{"keys": []}"#, "max-age=600")).await;
    // Loopback, unless allowed; private, link-local and metadata addresses always; HTTP elsewhere.
    let strict = Fetcher::new(FetchPolicy::default());
    for url in [
        format!("{base}/jwks"),
        "https://10.0.0.1/jwks".into(),
        "https://169.254.169.254/latest/meta-data".into(),
        "https://[fd00:ec2::254]/".into(),
        "https://100.100.100.200/".into(),
        "http://93.184.216.34/jwks".into(),
        "ftp://example.com/jwks".into(),
        "not a url".into(),
    ] {
        assert!(matches!(strict.json(&url).await, Err(FetchError::Refused(_))), "{url}");
    }
    // A name that resolves to loopback is loopback.
    assert!(matches!(
        strict.json(&base.replace("127.0.0.1", "localhost")).await,
        Err(FetchError::Refused(_))
    ));
    assert_eq!(hits.load(Ordering::Relaxed), 0, "nothing refused was ever requested");

    let fetcher = Fetcher::new(loopback());
    assert_eq!(fetcher.json(&format!("{base}/jwks")).await.unwrap()["keys"], serde_json::json!([]));

    // No redirect is followed, not even to the same server.
    let (redirecting, _) = server(Duration::ZERO, |_| {
        "HTTP/1.1 302 Found\r\nlocation: /jwks\r\ncontent-length: 0\r\n\r\n".into()
    })
    .await;
    let refused = fetcher.json(&format!("{redirecting}/x")).await.unwrap_err().to_string();
    assert!(refused.contains("302"), "{refused}");
    // Too large, announced or not; not JSON; too slow.
    let (large, _) =
        server(Duration::ZERO, |_| ok(&format!("\"{}\"", "x".repeat(70 * 1024)), "max-age=60")).await;
    assert!(fetcher.json(&format!("{large}/big")).await.unwrap_err().to_string().contains("exceeds"));
    let (chunked, _) = server(Duration::ZERO, |_| {
        let chunk = format!("\"{}\"", "x".repeat(70 * 1024));
        format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        )
    })
    .await;
    assert!(fetcher.json(&format!("{chunked}/big")).await.unwrap_err().to_string().contains("exceeds"));
    let (html, _) = server(Duration::ZERO, |_| ok("<html>", "max-age=60")).await;
    assert!(fetcher.json(&format!("{html}/page")).await.unwrap_err().to_string().contains("not JSON"));
    let impatient = Fetcher::new(FetchPolicy { timeout: Duration::from_millis(200), ..loopback() });
    let (slow, _) = server(Duration::from_secs(2), |_| ok("{}", "max-age=60")).await;
    let started = std::time::Instant::now();
    assert!(matches!(impatient.json(&format!("{slow}/slow")).await, Err(FetchError::Failed { .. })));
    assert!(started.elapsed() < Duration::from_secs(1), "gave up in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_flown_once_and_limited_per_host() {
    let (base, hits) = server(Duration::from_millis(100), |_| ok(r#"{"n": 1}"#, "public, max-age=600")).await;
    let fetcher = Arc::new(Fetcher::new(FetchPolicy { per_host_per_minute: 3, ..loopback() }));
    let url = format!("{base}/doc");
    // Twenty callers at once: one request.
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (fetcher, url) = (fetcher.clone(), url.clone());
            tokio::spawn(async move { fetcher.json(&url).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap()["n"], 1);
    }
    assert_eq!(hits.load(Ordering::Relaxed), 1, "one flight");
    // Cached as long as max-age says.
    fetcher.json(&url).await.unwrap();
    assert_eq!(hits.load(Ordering::Relaxed), 1, "from the cache");
    // Forgotten: fetched again; past the host's budget, refused without a request.
    fetcher.forget(&url);
    fetcher.json(&url).await.unwrap();
    fetcher.json(&format!("{base}/other")).await.unwrap();
    assert_eq!(hits.load(Ordering::Relaxed), 3);
    let limited = fetcher.json(&format!("{base}/third")).await;
    assert!(matches!(limited, Err(FetchError::RateLimited(_))), "{limited:?}");
    assert_eq!(hits.load(Ordering::Relaxed), 3);
    assert_eq!(fetcher.fetches(), 3);
}
