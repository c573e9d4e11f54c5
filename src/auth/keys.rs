//! The keys tokens are verified with, and the rules every token must meet.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;
/// A shorter HS256 secret can be brute-forced offline from any captured token.
pub const MIN_SECRET_BYTES: usize = 32;

struct VerifyingKey {
    key: DecodingKey,
    /// The one algorithm this key verifies: decided by the key, never by the token's header.
    algorithm: Algorithm,
}

/// The configured verification keys: an HS256 shared secret for tokens without `kid`, and
/// RS256/ES256 public keys from a JWKS file, chosen by `kid`.
pub struct KeySet {
    secret: Option<VerifyingKey>,
    by_kid: HashMap<String, VerifyingKey>,
    issuer: String,
    audience: String,
}

impl KeySet {
    pub fn new(secret: Option<&[u8]>, jwks: Option<&JwkSet>, issuer: &str, audience: &str) -> Result<Self, String> {
        let secret = match secret {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(format!("CTG_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"));
            }
            Some(secret) => Some(VerifyingKey { key: DecodingKey::from_secret(secret), algorithm: Algorithm::HS256 }),
            None => None,
        };
        let mut by_kid = HashMap::new();
        for jwk in jwks.map(|set| set.keys.as_slice()).unwrap_or_default() {
            let kid = jwk.common.key_id.clone().ok_or("every key of CTG_JWT_JWKS_FILE needs a kid")?;
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => {
                    return Err(format!(
                        "key {kid} of CTG_JWT_JWKS_FILE is neither an RS256 nor an ES256 (P-256) public key"
                    ));
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|error| format!("key {kid} of CTG_JWT_JWKS_FILE: {error}"))?;
            if by_kid.insert(kid.clone(), VerifyingKey { key, algorithm }).is_some() {
                return Err(format!("kid {kid} appears twice in CTG_JWT_JWKS_FILE"));
            }
        }
        if secret.is_none() && by_kid.is_empty() {
            return Err("no verification key: set CTG_JWT_SECRET or CTG_JWT_JWKS_FILE".into());
        }
        Ok(Self { secret, by_kid, issuer: issuer.to_owned(), audience: audience.to_owned() })
    }

    pub fn read_jwks(path: &Path) -> Result<JwkSet, String> {
        let text =
            std::fs::read_to_string(path).map_err(|error| format!("CTG_JWT_JWKS_FILE {}: {error}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|error| format!("CTG_JWT_JWKS_FILE {} is not a JWK set: {error}", path.display()))
    }

    /// The key for a token header's `kid`, and the validation rules that go with it.
    pub(super) fn select(&self, kid: Option<&str>) -> Result<(&DecodingKey, Validation), &'static str> {
        let key = match kid {
            Some(kid) => self.by_kid.get(kid).ok_or("the token's kid names no known key")?,
            None => self.secret.as_ref().ok_or("the token has no kid, and no shared secret is configured")?,
        };
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok((&key.key, validation))
    }
}
