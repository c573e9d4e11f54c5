//! Who is calling: the verified token turned into a typed [`Caller`].
//!
//! `Caller` is the only way into scope-bearing code, and the only constructor of a `Caller` is
//! the extractor below, which verifies the token first. Scope never comes from the path, the
//! query or the body.

mod keys;
pub mod token;

use std::collections::BTreeSet;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;

pub use keys::{KeySet, LEEWAY_SECONDS, MIN_SECRET_BYTES};

use crate::domain::identifiers::check_siren;
use crate::domain::territory::is_caf_department;
use crate::error::ApiError;

/// A longer `Authorization` header is refused before any parsing: real tokens are a few hundred
/// bytes, and nothing is gained by base64-decoding megabytes.
const MAX_AUTHORIZATION_BYTES: usize = 8 * 1024;

/// What the caller may reach, by role (API.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    /// A CAF agent: the contracts of these départements.
    CafAgent {
        departments: BTreeSet<String>,
    },
    /// A local authority: the contracts its organisations (by SIREN) are party to.
    Collectivity {
        sirens: BTreeSet<String>,
    },
    /// A departmental system reading its départements and writing observations.
    Integration {
        departments: BTreeSet<String>,
    },
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CafAgent { .. } => "caf_agent",
            Self::Collectivity { .. } => "collectivity",
            Self::Integration { .. } => "integration",
        }
    }
}

/// Which contracts a caller can see. Derived from the verified token only, never from the
/// request; every repository function that reads or writes contracts takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// Contracts of these départements.
    Departments(BTreeSet<String>),
    /// Contracts one of these SIRENs is party to.
    PartyTo(BTreeSet<String>),
}

impl Scope {
    /// Whether a département's contracts and directory entries are inside this scope.
    pub fn covers_department(&self, department: &str) -> bool {
        match self {
            Self::Everything => true,
            Self::Departments(departments) => departments.contains(department),
            Self::PartyTo(_) => false,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`.
    pub subject: String,
    pub role: Role,
}

impl Caller {
    pub fn scope(&self) -> Scope {
        match &self.role {
            Role::Admin => Scope::Everything,
            Role::CafAgent { departments } | Role::Integration { departments } => {
                Scope::Departments(departments.clone())
            }
            Role::Collectivity { sirens } => Scope::PartyTo(sirens.clone()),
        }
    }

    /// Admins and CAF agents manage contracts; the other roles only contribute to them.
    pub fn manages_contracts(&self) -> bool {
        matches!(self.role, Role::Admin | Role::CafAgent { .. })
    }

    /// 403 unless the caller manages contracts.
    pub fn require_contract_manager(&self) -> Result<(), ApiError> {
        if self.manages_contracts() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role cannot do this", self.role.name())))
        }
    }

    /// The SIRENs a collectivity acts for; empty for the other roles.
    pub fn sirens(&self) -> BTreeSet<String> {
        match &self.role {
            Role::Collectivity { sirens } => sirens.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// A short, stable identity for binding page tokens and idempotency keys to this caller.
    pub fn fingerprint(&self) -> String {
        let scope: Vec<&str> = match &self.role {
            Role::Admin => Vec::new(),
            Role::CafAgent { departments } | Role::Integration { departments } => {
                departments.iter().map(String::as_str).collect()
            }
            Role::Collectivity { sirens } => sirens.iter().map(String::as_str).collect(),
        };
        format!("{}|{}|{}", self.subject, self.role.name(), scope.join(","))
    }
}

/// The token's own claims; `iss`, `aud`, `exp` and `nbf` are checked by the key set's validation.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    role: String,
    #[serde(default)]
    departments: Option<Vec<String>>,
    #[serde(default)]
    sirens: Option<Vec<String>>,
}

fn unauthenticated(reason: &str) -> ApiError {
    ApiError::Unauthenticated(reason.to_owned())
}

fn departments_claim(claims: &Claims) -> Result<BTreeSet<String>, ApiError> {
    let departments = claims.departments.as_deref().unwrap_or_default();
    if departments.is_empty() {
        return Err(unauthenticated("this role needs a non-empty departments claim"));
    }
    if let Some(bad) = departments.iter().find(|code| !is_caf_department(code)) {
        return Err(ApiError::Unauthenticated(format!(
            "departments claim: {bad:?} is not a département served by a CAF"
        )));
    }
    Ok(departments.iter().cloned().collect())
}

fn sirens_claim(claims: &Claims) -> Result<BTreeSet<String>, ApiError> {
    let sirens = claims.sirens.as_deref().unwrap_or_default();
    if sirens.is_empty() {
        return Err(unauthenticated("the collectivity role needs a non-empty sirens claim"));
    }
    if let Some(bad) = sirens.iter().find(|siren| check_siren(siren).is_err()) {
        return Err(ApiError::Unauthenticated(format!("sirens claim: {bad:?} is not a valid SIREN")));
    }
    Ok(sirens.iter().cloned().collect())
}

/// Verifies a bearer token and builds the caller it speaks for.
pub fn authenticate(keys: &KeySet, authorization: Option<&[u8]>) -> Result<Caller, ApiError> {
    let authorization = authorization.ok_or_else(|| unauthenticated("send Authorization: Bearer <token>"))?;
    if authorization.len() > MAX_AUTHORIZATION_BYTES {
        return Err(unauthenticated("the Authorization header is too long"));
    }
    let authorization =
        std::str::from_utf8(authorization).map_err(|_| unauthenticated("the Authorization header is not text"))?;
    let token = match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => return Err(unauthenticated("the Authorization scheme must be Bearer")),
    };
    let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("the token is malformed"))?;
    let (key, validation) = keys.select(header.kid.as_deref()).map_err(unauthenticated)?;
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            let reason = match error.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)",
                ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
                ErrorKind::InvalidAudience => "the token's audience is not accepted",
                ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key",
                ErrorKind::InvalidSignature => "the token's signature is invalid",
                ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => "the token's claims are malformed",
                _ => "the token is invalid",
            };
            unauthenticated(reason)
        })?
        .claims;
    if claims.sub.trim().is_empty() {
        return Err(unauthenticated("the token's sub is empty"));
    }
    let role = match claims.role.as_str() {
        "admin" => Role::Admin,
        "caf_agent" => Role::CafAgent { departments: departments_claim(&claims)? },
        "collectivity" => Role::Collectivity { sirens: sirens_claim(&claims)? },
        "integration" => Role::Integration { departments: departments_claim(&claims)? },
        _ => {
            return Err(unauthenticated("the token's role is not one of admin, caf_agent, collectivity, integration"));
        }
    };
    Ok(Caller { subject: claims.sub, role })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Verified once per request: the per-subject rate limit, when on, verified this token
        // already and left the caller it speaks for (see `http::rate_limit`).
        if let Some(caller) = req.extensions().get::<Caller>() {
            return std::future::ready(Ok(caller.clone()));
        }
        let result = match req.app_data::<web::Data<KeySet>>() {
            Some(keys) => {
                authenticate(keys, req.headers().get(header::AUTHORIZATION).map(header::HeaderValue::as_bytes))
            }
            None => Err(ApiError::internal("the key set is not registered as app data")),
        };
        std::future::ready(result)
    }
}
