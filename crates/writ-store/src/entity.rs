//! sea-orm entities: one module per table, mirroring the migrations. Rows never leave this crate;
//! repositories convert them into `writ_core` values.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod orgs {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "orgs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub slug: String,
        pub status: String,
        pub metadata: String,
        pub rate_limits: String,
        pub login: String,
        /// JSON: whether its people may use clients known by metadata documents, and from where.
        pub url_clients: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod resources {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub identifier: String,
        pub name: String,
        pub builtin: bool,
        pub signing_alg: Option<String>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod resource_scopes {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "resource_scopes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub description: String,
    }
    no_relations!();
}

pub mod users {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub org_id: String,
        pub email: String,
        pub external_id: Option<String>,
        pub password_hash: Option<String>,
        pub password_changed_at: Option<TimeDateTimeWithTimeZone>,
        pub status: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod clients {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub org_id: Option<String>,
        pub user_id: Option<String>,
        pub name: String,
        pub status: String,
        pub token_ttl_seconds: i32,
        pub metadata: String,
        pub rate_limits: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
        /// The operator disabled it: only the operator re-enables it.
        pub disabled_by_operator: bool,
        /// Space-separated token-endpoint auth methods.
        pub auth_methods: String,
        /// A JWKS document, for `private_key_jwt`.
        pub jwks: Option<String>,
        pub jwks_uri: Option<String>,
        /// `confidential` or `public`.
        pub client_type: String,
        /// A JSON array of redirect URIs.
        pub redirect_uris: String,
        /// Space-separated grant types.
        pub grant_types: String,
        pub require_par: bool,
        pub refresh_idle_seconds: Option<i32>,
        pub refresh_absolute_seconds: Option<i32>,
        /// The URL of its metadata document, for a client known by one (unique).
        pub metadata_url: Option<String>,
        /// For a client that registered itself: its registration access token's keyed hash.
        pub registration_token_hash: Option<Vec<u8>>,
        pub registration_expires_at: Option<TimeDateTimeWithTimeZone>,
    }
    no_relations!();
}

pub mod client_secrets {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub display_prefix: String,
        pub hash: Vec<u8>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: Option<TimeDateTimeWithTimeZone>,
        pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    }
    no_relations!();
}

pub mod signing_keys {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub alg: String,
        pub state: String,
        pub private_key_encrypted: Vec<u8>,
        pub public_jwk: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub activated_at: Option<TimeDateTimeWithTimeZone>,
        pub retired_at: Option<TimeDateTimeWithTimeZone>,
        pub revoked_at: Option<TimeDateTimeWithTimeZone>,
    }
    no_relations!();
}

pub mod audit_events {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub occurred_at: TimeDateTimeWithTimeZone,
        pub actor_kind: String,
        pub actor_id: Option<String>,
        pub org_id: Option<String>,
        pub action: String,
        pub target_id: Option<String>,
        pub outcome: String,
        pub ip: Option<String>,
        pub request_id: Option<String>,
        pub details: String,
    }
    no_relations!();
}

pub mod system_state {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "system_state")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
    }
    no_relations!();
}

pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub request_hash: String,
        pub status: Option<i32>,
        pub response: Option<Vec<u8>>,
        pub created_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod trusted_issuers {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "trusted_issuers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub issuer: String,
        pub name: String,
        pub jwks: Option<String>,
        pub jwks_uri: Option<String>,
        pub max_token_lifetime_seconds: i32,
        pub single_use: bool,
        /// The org its ID-JAGs act for, and the claim naming the person (`sub` or `email`).
        pub id_jag_org_id: Option<String>,
        pub id_jag_user_claim: Option<String>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod federated_credentials {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "federated_credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub issuer_id: String,
        pub name: String,
        pub subject: String,
        pub audience: Option<String>,
        /// A JSON object of claim → value.
        pub claims: String,
        pub created_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod invitations {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub token_hash: Vec<u8>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod login_sessions {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub token_hash: Vec<u8>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod authorization_requests {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorization_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub params: String,
        pub pushed: bool,
        pub user_id: Option<String>,
        pub code_hash: Option<Vec<u8>>,
        pub code_expires_at: Option<TimeDateTimeWithTimeZone>,
        pub authorization_id: Option<String>,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
        /// A device authorization's code for the person (RFC 8628), without its dash.
        pub user_code: Option<String>,
        pub device_code_hash: Option<Vec<u8>>,
        pub denied: bool,
        pub last_polled_at: Option<TimeDateTimeWithTimeZone>,
    }
    no_relations!();
}

pub mod consents {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub user_id: String,
        pub client_id: String,
        pub org_id: String,
        pub grants: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub updated_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod authorizations {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "authorizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub consent_id: String,
        pub user_id: String,
        pub client_id: String,
        pub org_id: String,
        pub scope: String,
        pub resources: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
    }
    no_relations!();
}

pub mod refresh_tokens {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: Vec<u8>,
        pub authorization_id: String,
        pub created_at: TimeDateTimeWithTimeZone,
        pub expires_at: TimeDateTimeWithTimeZone,
        pub used_at: Option<TimeDateTimeWithTimeZone>,
    }
    no_relations!();
}
