//! Writ (or the benchmark's peer) as a child process on a free loopback port, for `cargo xtask
//! sdk` and `cargo xtask bench`: started, polled until ready, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::root;

/// A server under test.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    /// Writ's `/metrics` listener (`WRIT_METRICS_ADDR`).
    pub(crate) metrics_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `binary` with `args` and `env` (and none of the environment's database or Redis
    /// settings; `WRIT_LOG=warn` unless `env` says otherwise), logging to `log`, and waits until `ready` answers 200.
    pub(crate) fn start(
        binary: &Path,
        args: &[&str],
        env: &[(&str, String)],
        log: &Path,
        ready: &str,
    ) -> Result<Self, String> {
        let port = free_port()?;
        let metrics_port = free_port()?;
        let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .args(args)
            .env_remove("WRIT_DATABASE_URL")
            .env_remove("WRIT_REDIS_URL")
            .env("WRIT_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("WRIT_ADDR", format!("127.0.0.1:{port}"))
            .env("WRIT_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let server = Self { child, port, metrics_port };
        for _ in 0..300 {
            if http_get(port, ready).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("{} did not get ready", binary.display()))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

pub(crate) fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
}

/// A form `POST` with an `Authorization` header; the whole answer, head and body.
pub(crate) fn http_post(port: u16, path: &str, authorization: &str, form: &str) -> Option<String> {
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: {authorization}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
}

/// A JSON request with an `Authorization` header; the whole answer, head and body.
pub(crate) fn http_json(
    port: u16,
    method: &str,
    path: &str,
    authorization: &str,
    json: Option<&serde_json::Value>,
) -> Option<String> {
    let body = json.map(ToString::to_string).unwrap_or_default();
    http(
        port,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: {authorization}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn http(port: u16, request: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"))
}
