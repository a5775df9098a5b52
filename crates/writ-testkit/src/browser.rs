//! A browser for tests of Writ's pages over a real socket, without a real browser: it keeps
//! cookies, follows nothing by itself (each redirect is asserted), and reads a form's hidden
//! fields out of the HTML. The pages' looks and accessibility are checked in headless Chromium
//! (`crates/writ/tests/browser/`); this is for their rules.

use std::collections::BTreeMap;

/// One answer: status, headers and the body as text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value of the form field `name` (`<input … name="name" value="…">`) in the page.
    pub fn field(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\""))?;
        let rest = &self.body[at..];
        let value = rest.find("value=\"")? + "value=\"".len();
        let end = rest[value..].find('"')?;
        Some(unescape(&rest[value..value + end]))
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#43;", "+")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
}

/// A cookie-keeping client of one Writ server.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Sent as `Origin` with each `POST`, as browsers do (`None`: not sent).
    pub origin: Option<String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { base: base.to_owned(), http, cookies: BTreeMap::new(), origin: Some(base.to_owned()) }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, res: reqwest::Response) -> Answer {
        for set in res.headers().get_all("set-cookie") {
            let Ok(set) = set.to_str() else { continue };
            let pair = set.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let expired = set.contains("Max-Age=0");
                if expired || value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Answer { status, headers, body }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let res = self.http.get(self.url(path)).header("cookie", self.cookie_header()).send().await;
        self.read(res.unwrap_or_else(|e| panic!("GET {path}: {e}"))).await
    }

    /// Posts a form, as a browser submitting it would.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut req = self.http.post(self.url(path)).header("cookie", self.cookie_header()).form(form);
        if let Some(origin) = &self.origin {
            req = req.header("origin", origin);
        }
        let res = req.send().await;
        self.read(res.unwrap_or_else(|e| panic!("POST {path}: {e}"))).await
    }

    /// Logs in through the login form; the answer to the form's `POST`.
    pub async fn log_in(&mut self, org: &str, email: &str, password: &str) -> Answer {
        let form = self.get("/oauth/login").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.field("csrf").unwrap_or_default();
        self.post(
            "/oauth/login",
            &[
                ("csrf", &csrf),
                ("return_to", "/oauth/account"),
                ("org", org),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}
