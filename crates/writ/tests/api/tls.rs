//! HTTPS on loopback for tests that need it (a client's metadata document must be served over
//! HTTPS): a certificate authority made for the test run, a server certificate for `127.0.0.1`
//! and `localhost` signed by it, and a small HTTPS server. Writ trusts the authority through its
//! `fetch_ca_file` setting, as a deployment trusts an internal CA.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};

/// A certificate authority and a loopback server certificate, as PEM files in a temporary
/// directory.
pub struct TestCa {
    /// Holds the files; removed when dropped.
    _dir: tempfile::TempDir,
    /// The authority's certificate: what Writ's `fetch_ca_file` (or a client's trust store) names.
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

fn key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

fn certificate(cn: &str, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>, serial: u32) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    match issuer {
        None => {
            b.set_issuer_name(&name).unwrap();
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
            b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap())
                .unwrap();
            b.sign(key, MessageDigest::sha256()).unwrap();
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).unwrap();
            b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
            b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap()).unwrap();
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().unwrap()).unwrap();
            let san = SubjectAlternativeName::new()
                .ip("127.0.0.1")
                .dns("localhost")
                .build(&b.x509v3_context(Some(ca), None))
                .unwrap();
            b.append_extension(san).unwrap();
            b.sign(ca_key, MessageDigest::sha256()).unwrap();
        }
    }
    b.build()
}

impl TestCa {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = key();
        let ca = certificate("Writ test CA", &ca_key, None, 1);
        let server_key = key();
        let server = certificate("localhost", &server_key, Some((&ca, &ca_key)), 2);
        let write = |name: &str, pem: Vec<u8>| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        Self {
            ca_file: write("ca.pem", ca.to_pem().unwrap()),
            cert_file: write("server.pem", server.to_pem().unwrap()),
            key_file: write("server.key", server_key.private_key_to_pem_pkcs8().unwrap()),
            _dir: dir,
        }
    }

    /// An HTTPS server on `127.0.0.1` answering every request with `answer(path)` (head and body,
    /// raw) after `delay`; its base URL and a count of the requests it read.
    pub fn serve(
        &self,
        delay: Duration,
        answer: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> (String, Arc<AtomicU64>) {
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).unwrap();
        acceptor.set_certificate_chain_file(&self.cert_file).unwrap();
        acceptor.set_private_key_file(&self.key_file, openssl::ssl::SslFiletype::PEM).unwrap();
        let acceptor = Arc::new(acceptor.build());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let hits = Arc::new(AtomicU64::new(0));
        let counted = hits.clone();
        let answer = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (acceptor, answer, counted) = (acceptor.clone(), answer.clone(), counted.clone());
                std::thread::spawn(move || {
                    let Ok(mut tls) = acceptor.accept(stream) else { return };
                    let mut buf = vec![0u8; 8192];
                    let n = tls.read(&mut buf).unwrap_or(0);
                    counted.fetch_add(1, Ordering::Relaxed);
                    let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    std::thread::sleep(delay);
                    let _ = tls.write_all(answer(&path).as_bytes());
                    let _ = tls.shutdown();
                });
            }
        });
        (base, hits)
    }
}
