//! Public keys and the signature checks made with them: the issuer's own published keys
//! ([`crate::KeyRing`]), a resource server's copy of them (`writ-verify`), a client's keys for
//! `private_key_jwt` assertions, and a trusted issuer's keys for the tokens it vouches for. One
//! rule for all of them: the key decides the algorithm, so no token chooses its own, `none`
//! never verifies, and a public key is never taken for an HMAC secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use josekit::jwk::Jwk;
use josekit::jws::{ES256, EdDSA, JwsVerifier, PS256, RS256};
use serde::Deserialize;
use writ_core::SigningAlg;

use crate::{AccessClaims, LEEWAY_SECONDS, TokenError};

/// An asymmetric JWS algorithm Writ verifies: its own signing algorithms, and PS256, which a
/// client or a trusted issuer may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    ES256,
    RS256,
    PS256,
    EdDSA,
}

impl JwsAlg {
    /// What a client assertion or a trusted issuer's token may be signed with, as discovery lists
    /// them (`token_endpoint_auth_signing_alg_values_supported`).
    pub const EXTERNAL: &[JwsAlg] = &[Self::ES256, Self::RS256, Self::PS256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::EXTERNAL.iter().copied().find(|a| a.as_str() == s)
    }
}

impl From<SigningAlg> for JwsAlg {
    fn from(alg: SigningAlg) -> Self {
        match alg {
            SigningAlg::ES256 => Self::ES256,
            SigningAlg::RS256 => Self::RS256,
            SigningAlg::EdDSA => Self::EdDSA,
        }
    }
}

/// The `typ` header values a verifier accepts (compared without case), and what a refusal says.
/// An empty `accepted` list takes any `typ`, or none, except those in `rejected`.
#[derive(Debug, Clone, Copy)]
pub struct Typ {
    pub accepted: &'static [&'static str],
    pub rejected: &'static [&'static str],
    pub refusal: &'static str,
}

impl Typ {
    fn admits(&self, typ: Option<&str>) -> bool {
        let is = |list: &[&str]| typ.is_some_and(|t| list.iter().any(|a| t.eq_ignore_ascii_case(a)));
        if self.accepted.is_empty() { !is(self.rejected) } else { is(self.accepted) }
    }
}

/// An access token's `typ` (RFC 9068 §2.1), with or without its `application/` prefix.
pub const ACCESS_TOKEN_TYP: Typ =
    Typ { accepted: &[crate::TOKEN_TYPE, "application/at+jwt"], rejected: &[], refusal: "typ is not at+jwt" };

/// A JWT that authenticates someone (RFC 7523 assertions, a platform's identity token): any `typ`
/// but an access token's, so a Writ access token never passes for one.
pub const ASSERTION_TYP: Typ = Typ {
    accepted: &[],
    rejected: &[crate::TOKEN_TYPE, "application/at+jwt", "oauth-id-jag+jwt"],
    refusal: "an access token or an ID-JAG is not an assertion",
};

/// An Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant
/// §3.1): a grant naming a person, never a client's credential.
pub const ID_JAG_TYP: Typ =
    Typ { accepted: &["oauth-id-jag+jwt"], rejected: &[], refusal: "typ is not oauth-id-jag+jwt" };

/// The protected header of a verified JWS.
#[derive(Debug, Clone, Deserialize)]
pub struct JwsHeader {
    pub alg: String,
    pub typ: Option<String>,
    pub kid: Option<String>,
}

/// A JWS whose signature verified: its header, and its payload (not yet interpreted).
#[derive(Debug, Clone)]
pub struct Jws {
    pub header: JwsHeader,
    pub payload: Vec<u8>,
}

struct Verifier {
    kid: Option<String>,
    alg: JwsAlg,
    verifier: Box<dyn JwsVerifier>,
}

/// Public keys, each parsed once into a verifier per algorithm it may verify, and the checks that
/// use them. The issuer's [`crate::KeyRing`] holds one; so do a resource server's JWKS cache, a
/// client's registered keys and a trusted issuer's.
#[derive(Default)]
pub struct PublicKeys {
    verifiers: Vec<Verifier>,
    /// Whether a token may leave out `kid` (client keys: RFC 7523 does not require it). Then
    /// every key of the header's algorithm is tried: a set holds at most a handful.
    kid_optional: bool,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys").field("kids", &self.kids()).finish()
    }
}

/// Members that only a private or symmetric key has.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The algorithms a public JWK may verify: its `alg` if it names one; else what its key type
/// implies (an RSA key: RS256 and PS256). Symmetric (`oct`) keys have none.
fn jwk_algs(jwk: &Jwk) -> &'static [JwsAlg] {
    match (jwk.algorithm(), jwk.key_type(), jwk.curve()) {
        (Some(alg), _, _) => match JwsAlg::parse(alg) {
            Some(JwsAlg::ES256) => &[JwsAlg::ES256],
            Some(JwsAlg::RS256) => &[JwsAlg::RS256],
            Some(JwsAlg::PS256) => &[JwsAlg::PS256],
            Some(JwsAlg::EdDSA) => &[JwsAlg::EdDSA],
            None => &[],
        },
        (None, "EC", Some("P-256")) => &[JwsAlg::ES256],
        (None, "RSA", _) => &[JwsAlg::RS256, JwsAlg::PS256],
        (None, "OKP", Some("Ed25519")) => &[JwsAlg::EdDSA],
        _ => &[],
    }
}

/// Why a key of a client's registered set is refused, if it is.
fn key_fault(value: &serde_json::Value) -> Option<String> {
    let Some(map) = value.as_object() else { return Some("is not a JSON object".into()) };
    if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| map.contains_key(**m)) {
        return Some(format!(
            "holds private or symmetric key material (`{m}`): register the public key only"
        ));
    }
    let jwk = match Jwk::from_map(map.clone()) {
        Ok(jwk) => jwk,
        Err(e) => return Some(format!("is not a JWK: {e}")),
    };
    if jwk.key_use().is_some_and(|u| u != "sig") {
        return Some("is not a signing key (`use` is not `sig`)".into());
    }
    let algs = jwk_algs(&jwk);
    if algs.is_empty() {
        return Some(
            "is not a P-256 (ES256), RSA (RS256, PS256) or Ed25519 (EdDSA) key, or names another `alg`"
                .into(),
        );
    }
    if jwk.key_type() == "RSA" {
        let bits = map["n"].as_str().and_then(|n| B64.decode(n).ok()).map_or(0, |n| {
            let significant = n.iter().skip_while(|b| **b == 0).count();
            significant * 8
        });
        if bits < 2048 {
            return Some("is an RSA key shorter than 2048 bits".into());
        }
    }
    algs.iter().find_map(|alg| PublicKeys::verifier(*alg, &jwk).err()).map(|e| format!("is not usable: {e}"))
}

impl PublicKeys {
    /// The keys of a JWKS document (`{"keys": [...]}`) whose algorithm is in `allowed`, for access
    /// tokens: keys of other algorithms, symmetric keys, keys without a kid, and keys meant for
    /// encryption are left out; the second value counts them.
    pub fn from_jwks(jwks: &serde_json::Value, allowed: &[SigningAlg]) -> Result<(Self, usize), TokenError> {
        let allowed: Vec<JwsAlg> = allowed.iter().copied().map(JwsAlg::from).collect();
        Self::build(jwks, &allowed, false)
    }

    /// The keys of a client or a trusted issuer (a registered or fetched JWKS), for assertions:
    /// any algorithm of [`JwsAlg::EXTERNAL`], `kid` optional. Unusable keys are left out and
    /// counted, as in [`PublicKeys::from_jwks`].
    pub fn for_assertions(jwks: &serde_json::Value) -> Result<(Self, usize), TokenError> {
        Self::build(jwks, JwsAlg::EXTERNAL, true)
    }

    fn build(
        jwks: &serde_json::Value,
        allowed: &[JwsAlg],
        kid_optional: bool,
    ) -> Result<(Self, usize), TokenError> {
        let list =
            jwks["keys"].as_array().ok_or_else(|| TokenError::Crypto("a JWKS has a `keys` array".into()))?;
        let mut keys = Self { verifiers: Vec::new(), kid_optional };
        let mut skipped = 0;
        for value in list {
            let jwk = match value.as_object().map(|m| Jwk::from_map(m.clone())) {
                Some(Ok(jwk)) if jwk.key_use().is_none_or(|u| u == "sig") => jwk,
                _ => {
                    skipped += 1;
                    continue;
                }
            };
            let private =
                value.as_object().is_some_and(|m| PRIVATE_MEMBERS.iter().any(|p| m.contains_key(*p)));
            let kid = jwk.key_id().map(str::to_owned);
            let algs: Vec<JwsAlg> = jwk_algs(&jwk).iter().copied().filter(|a| allowed.contains(a)).collect();
            if private || algs.is_empty() || (kid.is_none() && !kid_optional) {
                skipped += 1;
                continue;
            }
            for alg in algs {
                match Self::verifier(alg, &jwk) {
                    Ok(verifier) => keys.verifiers.push(Verifier { kid: kid.clone(), alg, verifier }),
                    Err(_) => skipped += 1,
                }
            }
        }
        Ok((keys, skipped))
    }

    /// Checks a JWKS a client registers: 1 to `max` keys, each a public signing key of an
    /// algorithm of [`JwsAlg::EXTERNAL`] (RSA at least 2048 bits), kids distinct. Says what is
    /// wrong with the first key at fault.
    pub fn check_registered(jwks: &serde_json::Value, max: usize) -> Result<(), String> {
        let Some(list) = jwks.get("keys").and_then(serde_json::Value::as_array) else {
            return Err("must be a JWKS: an object with a `keys` array".into());
        };
        if list.is_empty() || list.len() > max {
            return Err(format!("must hold 1 to {max} keys"));
        }
        let mut kids = std::collections::HashSet::new();
        for (i, key) in list.iter().enumerate() {
            if let Some(fault) = key_fault(key) {
                return Err(format!("key {i} {fault}"));
            }
            if let Some(kid) = key.get("kid") {
                let Some(kid) = kid.as_str().filter(|k| !k.is_empty() && k.len() <= 200) else {
                    return Err(format!("key {i} has a `kid` that is not a string of 1 to 200 characters"));
                };
                if !kids.insert(kid) {
                    return Err(format!("key {i} repeats kid `{kid}`"));
                }
            }
        }
        Ok(())
    }

    fn verifier(alg: JwsAlg, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, TokenError> {
        Ok(match alg {
            JwsAlg::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            JwsAlg::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
            JwsAlg::PS256 => Box::new(PS256.verifier_from_jwk(jwk)?),
            JwsAlg::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        })
    }

    /// Adds the key `kid` of `alg` (Writ's own keys).
    pub(crate) fn insert(&mut self, kid: String, alg: SigningAlg, jwk: &Jwk) -> Result<(), TokenError> {
        let alg = JwsAlg::from(alg);
        let verifier = Self::verifier(alg, jwk)?;
        self.verifiers.push(Verifier { kid: Some(kid), alg, verifier });
        Ok(())
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.verifiers.iter().any(|v| v.kid.as_deref() == Some(kid))
    }

    /// The kids, sorted, each once.
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.verifiers.iter().filter_map(|v| v.kid.as_deref()).collect();
        kids.sort_unstable();
        kids.dedup();
        kids
    }

    /// How many (key, algorithm) verifiers the set holds.
    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }

    /// Verifies a compact JWS signed by one of these keys: the `kid` names the key (where the set
    /// allows keys without one, each such key of the header's algorithm is tried too), the key decides
    /// the algorithm (the header must agree, so no token picks its own, and `none` never
    /// verifies), the header's `typ` must be one `typ` admits, and the signature must hold.
    /// Returns the header and the payload's bytes; what the payload must say is the caller's
    /// business (access tokens: [`PublicKeys::verify_any_audience`]).
    pub fn verify_jws(&self, token: &str, typ: &Typ) -> Result<Jws, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: JwsHeader = serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
            .map_err(|_| TokenError::Malformed)?;
        // The keys the header may mean: the one its `kid` names; where kids are optional, also
        // every key registered without one (and, with no `kid` in the header, every key).
        let named = |v: &&Verifier| match (header.kid.as_deref(), v.kid.as_deref()) {
            (Some(wanted), Some(kid)) => wanted == kid,
            (Some(_), None) | (None, _) => self.kid_optional,
        };
        if header.kid.is_none() && !self.kid_optional {
            return Err(TokenError::BadHeader("no kid"));
        }
        let keys: Vec<&Verifier> = self.verifiers.iter().filter(named).collect();
        let candidates: Vec<&Verifier> =
            keys.iter().copied().filter(|v| v.alg.as_str() == header.alg).collect();
        if keys.is_empty() || (candidates.is_empty() && !keys.iter().any(|v| v.kid == header.kid)) {
            return Err(TokenError::UnknownKey);
        }
        if candidates.is_empty() {
            return Err(TokenError::BadHeader("algorithm does not match the key"));
        }
        if !typ.admits(header.typ.as_deref()) {
            return Err(TokenError::BadHeader(typ.refusal));
        }
        let signature = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        if !candidates.iter().any(|v| v.verifier.verify(signed, &signature).is_ok()) {
            return Err(TokenError::BadSignature);
        }
        let payload = B64.decode(p).map_err(|_| TokenError::Malformed)?;
        Ok(Jws { header, payload })
    }

    /// Verifies an access token signed by one of these keys (`typ` `at+jwt`, RFC 9068 §2.1) and
    /// checks `exp`, `nbf` (with [`LEEWAY_SECONDS`]) and `iss`; the audience and scopes are the
    /// caller's business.
    pub fn verify_any_audience(
        &self,
        token: &str,
        issuer: &str,
        now: i64,
    ) -> Result<AccessClaims, TokenError> {
        let jws = self.verify_jws(token, &ACCESS_TOKEN_TYP)?;
        let claims: AccessClaims = serde_json::from_slice(&jws.payload).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now - LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + LEEWAY_SECONDS {
            return Err(TokenError::NotYetValid);
        }
        if claims.iss != issuer {
            return Err(TokenError::WrongIssuer);
        }
        Ok(claims)
    }

    /// The `kid` a token's header names, without verifying anything (to decide whether the keys
    /// must be fetched again).
    pub fn kid_of(token: &str) -> Option<String> {
        let header = token.split('.').next()?;
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        header["kid"].as_str().map(str::to_owned)
    }
}

/// A client's private key, signing its `private_key_jwt` assertions (`writ-verify`'s token
/// source; tests). The key type decides the algorithm: P-256 → ES256, RSA → RS256 (PS256 on
/// request), Ed25519 → EdDSA.
pub struct AssertionSigner {
    alg: JwsAlg,
    kid: Option<String>,
    signer: Box<dyn josekit::jws::JwsSigner>,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl AssertionSigner {
    /// The signer of a PEM private key (PKCS#8, or the traditional EC and RSA forms), naming `kid`
    /// in its headers when given. `pss` picks PS256 over RS256 for an RSA key.
    pub fn from_pem(pem: &[u8], kid: Option<&str>, pss: bool) -> Result<Self, TokenError> {
        use openssl::pkey::{Id, PKey};
        let key = PKey::private_key_from_pem(pem)?;
        let der = zeroize::Zeroizing::new(key.private_key_to_pkcs8()?);
        let (alg, signer): (JwsAlg, Box<dyn josekit::jws::JwsSigner>) = match key.id() {
            Id::EC => (JwsAlg::ES256, Box::new(ES256.signer_from_der(&*der)?)),
            Id::RSA if pss => (JwsAlg::PS256, Box::new(PS256.signer_from_der(&*der)?)),
            Id::RSA => (JwsAlg::RS256, Box::new(RS256.signer_from_der(&*der)?)),
            Id::ED25519 => (JwsAlg::EdDSA, Box::new(EdDSA.signer_from_der(&*der)?)),
            _ => return Err(TokenError::Crypto("only P-256, RSA and Ed25519 keys sign assertions".into())),
        };
        Ok(Self { alg, kid: kid.map(str::to_owned), signer })
    }

    pub fn alg(&self) -> JwsAlg {
        self.alg
    }

    /// A compact JWS of `claims` (`typ` `JWT`).
    pub fn sign(&self, claims: &serde_json::Value) -> Result<String, TokenError> {
        let mut header = serde_json::json!({ "alg": self.alg.as_str(), "typ": "JWT" });
        if let Some(kid) = &self.kid {
            header["kid"] = kid.as_str().into();
        }
        let mut token = B64.encode(header.to_string());
        token.push('.');
        B64.encode_string(claims.to_string(), &mut token);
        let signature = self.signer.sign(token.as_bytes())?;
        token.push('.');
        B64.encode_string(signature, &mut token);
        Ok(token)
    }
}

/// The public JWK of a PEM public key (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout`
/// writes it): P-256, RSA or Ed25519. A private key is refused rather than converted, so its
/// holder never sends it anywhere by mistake.
pub fn public_jwk_from_pem(pem: &[u8]) -> Result<serde_json::Value, TokenError> {
    use openssl::pkey::{Id, PKey};
    if pem.windows(7).any(|w| w == b"PRIVATE") {
        return Err(TokenError::Crypto(
            "this is a private key: give its public half (openssl pkey -pubout)".into(),
        ));
    }
    let key = PKey::public_key_from_pem(pem)?;
    let b64 = |bytes: &[u8]| B64.encode(bytes);
    Ok(match key.id() {
        Id::EC => {
            let ec = key.ec_key()?;
            if ec.group().curve_name() != Some(openssl::nid::Nid::X9_62_PRIME256V1) {
                return Err(TokenError::Crypto("only P-256 EC keys are accepted".into()));
            }
            let mut ctx = openssl::bn::BigNumContext::new()?;
            let (mut x, mut y) = (openssl::bn::BigNum::new()?, openssl::bn::BigNum::new()?);
            ec.public_key().affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&x.to_vec_padded(32)?), "y": b64(&y.to_vec_padded(32)?)})
        }
        Id::RSA => {
            let rsa = key.rsa()?;
            serde_json::json!({"kty": "RSA", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())})
        }
        Id::ED25519 => serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&key.raw_public_key()?)}),
        _ => return Err(TokenError::Crypto("only P-256, RSA and Ed25519 keys are accepted".into())),
    })
}

#[cfg(test)]
mod tests {
    use josekit::jws::JwsHeader as Header;
    use josekit::jwt::{self, JwtPayload};
    use serde_json::json;

    use super::*;

    /// A fresh key pair of `alg`: its public JWK (no kid) and a signer.
    fn pair(alg: JwsAlg) -> (serde_json::Value, Box<dyn josekit::jws::JwsSigner>) {
        let (public, signer): (Jwk, Box<dyn josekit::jws::JwsSigner>) = match alg {
            JwsAlg::ES256 => {
                let p = ES256.generate_key_pair().unwrap();
                (p.to_jwk_public_key(), Box::new(ES256.signer_from_jwk(&p.to_jwk_private_key()).unwrap()))
            }
            JwsAlg::RS256 => {
                let p = RS256.generate_key_pair(2048).unwrap();
                (p.to_jwk_public_key(), Box::new(RS256.signer_from_jwk(&p.to_jwk_private_key()).unwrap()))
            }
            JwsAlg::PS256 => {
                let p = PS256.generate_key_pair(2048).unwrap();
                (p.to_jwk_public_key(), Box::new(PS256.signer_from_jwk(&p.to_jwk_private_key()).unwrap()))
            }
            JwsAlg::EdDSA => {
                let p = EdDSA.generate_key_pair(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap();
                (p.to_jwk_public_key(), Box::new(EdDSA.signer_from_jwk(&p.to_jwk_private_key()).unwrap()))
            }
        };
        let mut public = public.as_ref().clone();
        // As most clients register them: the key type says what it is for.
        public.remove("alg");
        (serde_json::Value::Object(public), signer)
    }

    fn sign(signer: &dyn josekit::jws::JwsSigner, kid: Option<&str>, typ: Option<&str>) -> String {
        let mut header = Header::new();
        if let Some(kid) = kid {
            header.set_key_id(kid);
        }
        if let Some(typ) = typ {
            header.set_token_type(typ);
        }
        let mut payload = JwtPayload::new();
        payload.set_subject("cli_x");
        jwt::encode_with_signer(&payload, &header, signer).unwrap()
    }

    #[test]
    fn assertion_keys_verify_each_algorithm_with_or_without_a_kid() {
        for alg in JwsAlg::EXTERNAL {
            let (jwk, signer) = pair(*alg);
            let jwks = json!({ "keys": [jwk] });
            PublicKeys::check_registered(&jwks, 10).unwrap();
            let (keys, skipped) = PublicKeys::for_assertions(&jwks).unwrap();
            assert_eq!(skipped, 0);
            let jws = keys.verify_jws(&sign(&*signer, None, Some("JWT")), &ASSERTION_TYP).unwrap();
            assert_eq!(jws.header.alg, alg.as_str());
            assert!(serde_json::from_slice::<serde_json::Value>(&jws.payload).unwrap()["sub"] == "cli_x");
            // An access token's typ never passes for an assertion.
            assert!(matches!(
                keys.verify_jws(&sign(&*signer, None, Some("at+jwt")), &ASSERTION_TYP),
                Err(TokenError::BadHeader(_))
            ));
            // Access-token key sets still want a kid.
            let strict =
                PublicKeys::from_jwks(&jwks, &[SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA]);
            assert!(strict.unwrap().0.is_empty(), "{alg:?}: no kid, not an access-token key");
        }
    }

    #[test]
    fn the_key_decides_the_algorithm_so_none_and_hmac_never_verify() {
        let (mut jwk, signer) = pair(JwsAlg::RS256);
        jwk["kid"] = "k1".into();
        let (keys, _) = PublicKeys::for_assertions(&json!({ "keys": [jwk.clone()] })).unwrap();
        let good = sign(&*signer, Some("k1"), None);
        keys.verify_jws(&good, &ASSERTION_TYP).unwrap();
        let payload = good.split('.').nth(1).unwrap();
        // alg none, with and without a signature.
        for kid in [Some("k1"), None] {
            let header = match kid {
                Some(kid) => json!({"alg": "none", "kid": kid}),
                None => json!({"alg": "none"}),
            };
            let h = B64.encode(header.to_string());
            assert!(keys.verify_jws(&format!("{h}.{payload}."), &ASSERTION_TYP).is_err());
            assert!(keys.verify_jws(&format!("{h}.{payload}.c2ln"), &ASSERTION_TYP).is_err());
        }
        // HS256 keyed with the public key's own bytes (the classic confusion).
        let secret = jwk.to_string();
        let hmac = josekit::jws::HS256.signer_from_bytes(secret.as_bytes()).unwrap();
        assert!(matches!(
            keys.verify_jws(&sign(&hmac, Some("k1"), None), &ASSERTION_TYP),
            Err(TokenError::BadHeader("algorithm does not match the key"))
        ));
        assert!(matches!(
            keys.verify_jws(&sign(&hmac, None, None), &ASSERTION_TYP),
            Err(TokenError::UnknownKey)
        ));
        // A key pinned to RS256 does not verify PS256; an unpinned RSA key does.
        let mut pinned = jwk.clone();
        pinned["alg"] = "RS256".into();
        let (pinned, _) = PublicKeys::for_assertions(&json!({ "keys": [pinned] })).unwrap();
        let ps = PS256.signer_from_jwk(&Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap());
        assert!(ps.is_err(), "a public key cannot sign");
        let (_, ps_signer) = pair(JwsAlg::PS256);
        assert_eq!(pinned.len(), 1);
        assert!(matches!(
            pinned.verify_jws(&sign(&*ps_signer, Some("k1"), None), &ASSERTION_TYP),
            Err(TokenError::BadHeader(_))
        ));
        assert!(matches!(
            keys.verify_jws(&sign(&*ps_signer, Some("k1"), None), &ASSERTION_TYP),
            Err(TokenError::BadSignature)
        ));
        assert!(matches!(
            keys.verify_jws(&sign(&*signer, Some("k2"), None), &ASSERTION_TYP),
            Err(TokenError::UnknownKey)
        ));
    }

    #[test]
    fn a_pem_public_key_becomes_the_jwk_that_verifies_its_signatures() {
        use openssl::pkey::PKey;
        let pems: Vec<(JwsAlg, PKey<openssl::pkey::Private>)> = vec![
            (
                JwsAlg::ES256,
                PKey::from_ec_key(
                    openssl::ec::EcKey::generate(
                        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
                    )
                    .unwrap(),
                )
                .unwrap(),
            ),
            (JwsAlg::RS256, PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()),
            (JwsAlg::EdDSA, PKey::generate_ed25519().unwrap()),
        ];
        for (alg, key) in pems {
            let jwk = public_jwk_from_pem(&key.public_key_to_pem().unwrap()).unwrap();
            let jwks = json!({ "keys": [jwk] });
            PublicKeys::check_registered(&jwks, 10).unwrap();
            let private = key.private_key_to_pem_pkcs8().unwrap();
            let signer: Box<dyn josekit::jws::JwsSigner> = match alg {
                JwsAlg::ES256 => Box::new(ES256.signer_from_pem(&private).unwrap()),
                JwsAlg::RS256 => Box::new(RS256.signer_from_pem(&private).unwrap()),
                _ => Box::new(EdDSA.signer_from_pem(&private).unwrap()),
            };
            let (keys, _) = PublicKeys::for_assertions(&jwks).unwrap();
            keys.verify_jws(&sign(&*signer, None, None), &ASSERTION_TYP).unwrap();
            assert!(public_jwk_from_pem(&private).is_err(), "a private key is refused");
            // The assertion signer of the same key, RSA as PS256 too.
            for pss in [false, true] {
                let signer = AssertionSigner::from_pem(&private, Some("k"), pss).unwrap();
                let jws =
                    keys.verify_jws(&signer.sign(&json!({"sub": "cli_x"})).unwrap(), &ASSERTION_TYP).unwrap();
                assert_eq!(jws.header.kid.as_deref(), Some("k"));
                assert_eq!(jws.header.alg, signer.alg().as_str());
            }
            let traditional = match key.id() {
                openssl::pkey::Id::EC => Some(key.ec_key().unwrap().private_key_to_pem().unwrap()),
                openssl::pkey::Id::RSA => Some(key.rsa().unwrap().private_key_to_pem().unwrap()),
                _ => None,
            };
            if let Some(pem) = traditional {
                assert_eq!(
                    AssertionSigner::from_pem(&pem, None, false).unwrap().alg(),
                    alg,
                    "SEC1 and PKCS#1 PEM"
                );
            }
        }
    }

    #[test]
    fn a_registered_set_is_refused_with_the_reason() {
        let (es, _) = pair(JwsAlg::ES256);
        let rsa_private = serde_json::Value::Object(
            RS256.generate_key_pair(2048).unwrap().to_jwk_private_key().as_ref().clone(),
        );
        let (mut short, _) = pair(JwsAlg::RS256);
        short["n"] = B64.encode([0xc5; 128]).into();
        let mut enc = es.clone();
        enc["use"] = "enc".into();
        let mut hs = es.clone();
        hs["alg"] = "HS256".into();
        let mut k1 = es.clone();
        k1["kid"] = "k1".into();
        let fault =
            |keys: serde_json::Value| PublicKeys::check_registered(&json!({ "keys": keys }), 3).unwrap_err();
        assert!(fault(json!([rsa_private])).contains("private"), "{}", fault(json!([rsa_private])));
        assert!(fault(json!([short])).contains("2048"));
        assert!(fault(json!([enc])).contains("signing"));
        assert!(fault(json!([hs])).contains("alg"));
        assert!(fault(json!([{"kty": "oct", "k": "c2VjcmV0"}])).contains("symmetric"));
        assert!(fault(json!([k1, k1])).contains("repeats"));
        assert!(fault(json!([es, es, es, es])).contains("1 to 3"));
        assert!(fault(json!([])).contains("1 to 3"));
        assert!(PublicKeys::check_registered(&json!([es]), 3).unwrap_err().contains("JWKS"));
        // At runtime, private material in a fetched set is skipped, never used.
        let (keys, skipped) = PublicKeys::for_assertions(&json!({ "keys": [rsa_private] })).unwrap();
        assert_eq!((keys.len(), skipped), (0, 1));
    }
}
