//! Prefixed, time-sortable ids (docs/architecture.md, "Decisions"): a type prefix and the
//! 26-character base32 form of a UUIDv7, so `org_01jd…` says what it is and ids sort by creation
//! time.

use std::fmt;

use crate::{Invalid, base32};

const BODY_LEN: usize = 26;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id for the current time (UUIDv7, monotonic within this process).
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, base32::encode(uuid::Uuid::now_v7().as_bytes())))
            }

            pub fn parse(s: &str) -> Result<Self, Invalid> {
                let body = s
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or_else(|| Invalid::new($what, format!("must start with `{}_`", $prefix)))?;
                // 26 characters hold 130 bits; a 128-bit body leaves the first character at most
                // `7`.
                let valid = body.len() == BODY_LEN
                    && body.bytes().all(base32::is_char)
                    && body.as_bytes()[0] <= b'7';
                if !valid {
                    return Err(Invalid::new($what, "malformed id"));
                }
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(/// An organization (tenant).
    OrgId, "org", "org id");
prefixed_id!(/// A user of an organization.
    UserId, "usr", "user id");
prefixed_id!(/// A resource (an API and its audience).
    ResourceId, "res", "resource id");
prefixed_id!(/// A machine client.
    ClientId, "cli", "client id");
prefixed_id!(/// A client secret (its id, never its value).
    SecretId, "sec", "secret id");
prefixed_id!(/// An audit event.
    EventId, "evt", "event id");
prefixed_id!(/// A signing key: the JWS `kid`.
    KeyId, "key", "key id");
prefixed_id!(/// An identity provider whose tokens Writ trusts (a Kubernetes cluster, GitHub Actions…).
    TrustedIssuerId, "tis", "trusted issuer id");
prefixed_id!(/// A federated credential: which external identities stand for a client.
    FederatedCredentialId, "fcr", "federated credential id");
prefixed_id!(/// A one-time invitation to set a password (its id, never its token).
    InvitationId, "inv", "invitation id");
prefixed_id!(/// A person's login session in a browser (its id, never its cookie).
    SessionId, "ses", "session id");
prefixed_id!(/// An authorization request, from its arrival (or push) until its code is exchanged.
    RequestId, "arq", "authorization request id");
prefixed_id!(/// What a person allowed a client.
    ConsentId, "cns", "consent id");
prefixed_id!(/// One authorization of a client by a person: its refresh tokens, and the `cred` of its
    /// access tokens.
    AuthorizationId, "azn", "authorization id");

impl EventId {
    /// The least id an event created at or after `at` can have: a UUIDv7 begins with its Unix
    /// time in milliseconds, so a time range of events is a range of ids (the primary key).
    pub fn floor(at: time::OffsetDateTime) -> String {
        let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mut bytes = [0_u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        format!("{}_{}", Self::PREFIX, base32::encode(&bytes))
    }
}

/// A new token id (`jti`): 128 bits, time-ordered, so logs and revocation lists sort by issuance.
pub fn new_token_id() -> String {
    base32::encode(uuid::Uuid::now_v7().as_bytes())
}

/// Whether `jti` has the shape [`new_token_id`] gives.
pub fn is_token_id(jti: &str) -> bool {
    jti.len() == BODY_LEN && jti.bytes().all(base32::is_char) && jti.as_bytes()[0] <= b'7'
}

/// Whether `s` has the shape of some prefixed id (`cli_…`, `evt_…`): a list's cursor is the id of
/// its last item.
pub fn is_prefixed_id(s: &str) -> bool {
    s.split_once('_').is_some_and(|(prefix, body)| {
        prefix.len() == 3 && prefix.bytes().all(|b| b.is_ascii_lowercase()) && is_token_id(body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_between_the_floors_of_their_time() {
        let before = crate::now();
        let id = EventId::generate();
        let second = time::Duration::seconds(1);
        assert!(EventId::floor(before - time::Duration::milliseconds(1)).as_str() <= id.as_str());
        assert!(id.as_str() < EventId::floor(before + second).as_str());
        assert!(EventId::floor(before) < EventId::floor(before + second));
    }

    #[test]
    fn token_ids_have_one_shape() {
        assert!(is_token_id(&new_token_id()));
        for bad in ["", "x", &"0".repeat(27), &format!("8{}", "0".repeat(25)), "01JD8X4C2V9Q0M7K3N5P6R8S0T"] {
            assert!(!is_token_id(bad), "{bad}");
        }
        assert!(
            is_prefixed_id(ClientId::generate().as_str()) && is_prefixed_id(EventId::generate().as_str())
        );
        for bad in [
            "",
            "cli_",
            "cli-01",
            "CLI_0000000000000000000000000",
            "clients_00000000000000000000000000",
            "cli_x'--",
        ] {
            assert!(!is_prefixed_id(bad), "{bad}");
        }
    }

    #[test]
    fn generated_ids_parse_back_and_sort_by_creation() {
        let a = OrgId::generate();
        let b = OrgId::generate();
        assert!(a.as_str().starts_with("org_"));
        assert_eq!(a.as_str().len(), 4 + BODY_LEN);
        assert_eq!(OrgId::parse(a.as_str()).unwrap(), a);
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn rejects_wrong_prefix_and_malformed_bodies() {
        let client = ClientId::generate();
        assert!(OrgId::parse(client.as_str()).is_err());
        assert!(OrgId::parse("org_").is_err());
        assert!(OrgId::parse("org_01JD0000000000000000000000").is_err(), "upper case");
        assert!(OrgId::parse("org_81jd000000000000000000000").is_err(), "too many bits");
        assert!(OrgId::parse("org_01jd00000000000000000000u").is_err(), "u is not base32");
        assert!(OrgId::parse("org01jd0000000000000000000000").is_err());
    }

    #[test]
    fn serde_validates() {
        let id = UserId::generate();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<UserId>("\"usr_nope\"").is_err());
    }
}
