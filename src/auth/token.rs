//! Minting HS256 tokens with the configured secret: for `ctg-api token`, the dev-mode banner and
//! the tests. Production tokens come from the identity provider.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sirens: Vec<String>,
}

impl TokenClaims {
    pub fn new(issuer: &str, audience: &str, subject: &str, role: &str, lifetime_seconds: i64) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            sub: subject.to_owned(),
            role: role.to_owned(),
            iat: now,
            exp: now + lifetime_seconds,
            departments: Vec::new(),
            sirens: Vec::new(),
        }
    }
}

pub fn mint(secret: &[u8], claims: &TokenClaims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
}
