//! Settings, read once from the environment. A bad setting stops the program with one line that
//! names it.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::MIN_SECRET_BYTES;
use crate::db::{DatabaseUrl, PoolSettings};
use crate::http::uploads::UploadLimits;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ctg-api.sqlite3";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_AUDIENCE: &str = "ctg-api";
pub const DEV_ISSUER: &str = "ctg-api-dev";
/// The largest document file accepted by default: 20 MiB.
pub const DEFAULT_DOCUMENT_MAX_BYTES: usize = 20 * 1024 * 1024;
/// €7,500: what the diagnostic aid may commit before the contract is signed.
pub const DEFAULT_DIAGNOSTIC_AID_CEILING_CENTS: i64 = 750_000;
/// Far above what a person or a front-end sends, so that only a runaway client meets them.
pub const DEFAULT_RATE_LIMIT_PER_SUBJECT: u32 = 100;
pub const DEFAULT_RATE_LIMIT_PER_ADDRESS: u32 = 200;

/// The ceiling of the diagnostic aid committed before signature, in cents, as the handlers
/// receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagnosticAidCeiling(pub i64);

#[derive(Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: String,
    pub jwt_secret: Option<Vec<u8>>,
    pub jwt_jwks_file: Option<PathBuf>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub pool: PoolSettings,
    pub workers: usize,
    pub shutdown_timeout_seconds: u64,
    pub page_token_secret: Option<Vec<u8>>,
    /// The largest document file an upload may carry (`CTG_DOCUMENT_MAX_BYTES`), in bytes.
    pub document_max_bytes: usize,
    /// What an `aide_diagnostic` commitment may total when committed before its contract is
    /// signed, in cents (`CTG_DIAGNOSTIC_AID_CEILING_CENTS`, default €7,500).
    pub diagnostic_aid_ceiling_cents: i64,
    /// Dev mode: a random HS256 secret when none is set, and a ready admin token printed at start.
    pub dev: bool,
    /// How long an answered idempotency key is kept: a retry after that is a new request.
    pub idempotency_retention: Duration,
    /// How long the feed keeps an event: a reader further behind resynchronises from the lists.
    pub feed_retention: Duration,
    /// Uploads that go to disk: how many at once, how many bytes waiting, how slow a body may be.
    pub uploads: UploadLimits,
    /// Requests a second per token subject, in bursts of twice as many; 0 turns the limit off.
    pub rate_limit_per_subject: u32,
    /// Requests a second per client address, in bursts of twice as many; 0 turns the limit off.
    pub rate_limit_per_address: u32,
    /// Where `GET /metrics` is served (`CTG_METRICS_BIND`), apart from the API; none when unset.
    pub metrics_bind: Option<String>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &self.database_url.redacted())
            .field("bind", &self.bind)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("jwt_jwks_file", &self.jwt_jwks_file)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("pool", &self.pool)
            .field("workers", &self.workers)
            .field("document_max_bytes", &self.document_max_bytes)
            .field("dev", &self.dev)
            .field("idempotency_retention", &self.idempotency_retention)
            .field("feed_retention", &self.feed_retention)
            .field("uploads", &self.uploads)
            .field("rate_limit_per_subject", &self.rate_limit_per_subject)
            .field("rate_limit_per_address", &self.rate_limit_per_address)
            .field("metrics_bind", &self.metrics_bind)
            .finish_non_exhaustive()
    }
}

/// How long answered idempotency keys, and feed events, are kept.
fn retentions(var: &impl Fn(&str) -> Option<String>) -> Result<(Duration, Duration), String> {
    // Up to a year; a week by default, far longer than any client's retries.
    let idempotency_retention = Duration::from_secs(parse_number(
        "CTG_IDEMPOTENCY_RETENTION_SECONDS",
        var("CTG_IDEMPOTENCY_RETENTION_SECONDS"),
        7 * 86_400,
        |n| (1..=366 * 86_400).contains(n),
    )?);
    // Up to ten years; 90 days by default, long enough for an integrator back from holidays.
    let feed_retention = Duration::from_secs(parse_number(
        "CTG_FEED_RETENTION_SECONDS",
        var("CTG_FEED_RETENTION_SECONDS"),
        90 * 86_400,
        |n| (1..=3_660 * 86_400).contains(n),
    )?);
    Ok((idempotency_retention, feed_retention))
}

/// How many uploads at once, how many bytes of them waiting on disk, how slow a body may be.
fn upload_limits(var: &impl Fn(&str) -> Option<String>) -> Result<UploadLimits, String> {
    Ok(UploadLimits {
        per_caller: parse_number("CTG_UPLOADS_PER_CALLER", var("CTG_UPLOADS_PER_CALLER"), 2, |n| {
            (1..=1_000).contains(n)
        })?,
        total: parse_number("CTG_UPLOADS_TOTAL", var("CTG_UPLOADS_TOTAL"), 8, |n| (1..=10_000).contains(n))?,
        // 2 GiB by default: eight bulk files of 256 MiB.
        spool_bytes: parse_number("CTG_SPOOL_MAX_BYTES", var("CTG_SPOOL_MAX_BYTES"), 2 << 30, |n| {
            (1..=1 << 40).contains(n)
        })?,
        idle_timeout: Duration::from_secs(parse_number(
            "CTG_UPLOAD_IDLE_TIMEOUT_SECONDS",
            var("CTG_UPLOAD_IDLE_TIMEOUT_SECONDS"),
            30,
            |n| (1..=3_600).contains(n),
        )?),
        // 15 minutes: 256 MiB at 300 kB/s.
        deadline: Duration::from_secs(parse_number(
            "CTG_UPLOAD_DEADLINE_SECONDS",
            var("CTG_UPLOAD_DEADLINE_SECONDS"),
            900,
            |n| (1..=86_400).contains(n),
        )?),
    })
}

fn parse_number<T: std::str::FromStr>(
    name: &str,
    value: Option<String>,
    default: T,
    valid: impl Fn(&T) -> bool,
) -> Result<T, String> {
    match value {
        None => Ok(default),
        Some(text) => match text.trim().parse::<T>() {
            Ok(number) if valid(&number) => Ok(number),
            _ => Err(format!("{name}={text:?} is not valid")),
        },
    }
}

fn default_pool_size(cores: usize) -> u32 {
    u32::try_from(cores.saturating_mul(2)).unwrap_or(u32::MAX).max(2)
}

impl Config {
    /// Reads the settings through `var` (the process environment in `main`, a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, dev: bool) -> Result<Self, String> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let database_url = DatabaseUrl::parse(&var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()))?;
        let bind = var("CTG_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!("CTG_BIND={bind:?} is not an address:port such as 127.0.0.1:8080"));
        }
        let metrics_bind = var("CTG_METRICS_BIND");
        if let Some(address) =
            metrics_bind.as_deref().filter(|address| address.parse::<std::net::SocketAddr>().is_err())
        {
            return Err(format!("CTG_METRICS_BIND={address:?} is not an address:port such as 127.0.0.1:9090"));
        }
        let jwt_secret = var("CTG_JWT_SECRET").map(String::into_bytes);
        if jwt_secret.as_ref().is_some_and(|secret| secret.len() < MIN_SECRET_BYTES) {
            return Err(format!("CTG_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"));
        }
        let jwt_jwks_file = var("CTG_JWT_JWKS_FILE").map(PathBuf::from);
        // Dev mode prints an admin token signed with the secret: with a real key, that token would
        // open the real service, so dev mode makes up its own secret and takes none.
        if dev && (jwt_secret.is_some() || jwt_jwks_file.is_some()) {
            return Err("--dev makes up its own secret and prints an admin token signed with it: unset \
                        CTG_JWT_SECRET and CTG_JWT_JWKS_FILE, or start without --dev"
                .into());
        }
        if jwt_secret.is_none() && jwt_jwks_file.is_none() && !dev {
            return Err("set CTG_JWT_SECRET (32 bytes or more) or CTG_JWT_JWKS_FILE, or start with --dev".into());
        }
        let jwt_issuer = match var("CTG_JWT_ISSUER") {
            Some(issuer) => issuer,
            None if dev => DEV_ISSUER.to_owned(),
            None => {
                return Err("CTG_JWT_ISSUER is required: the iss claim every token must carry".into());
            }
        };
        let jwt_audience = var("CTG_JWT_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let pool = PoolSettings {
            // Twice the cores: measured best on 2 cores (bench/contracts.sh); more connections than
            // threads that can use them only add waiting.
            max_size: parse_number("CTG_DB_POOL_SIZE", var("CTG_DB_POOL_SIZE"), default_pool_size(cores), |n| {
                (1..=1000).contains(n)
            })?,
            checkout_timeout: Duration::from_millis(parse_number(
                "CTG_DB_TIMEOUT_MS",
                var("CTG_DB_TIMEOUT_MS"),
                3_000,
                |n| (10..=600_000).contains(n),
            )?),
        };
        let workers = parse_number("CTG_WORKERS", var("CTG_WORKERS"), cores, |n| (1..=256).contains(n))?;
        let shutdown_timeout_seconds =
            parse_number("CTG_SHUTDOWN_TIMEOUT_SECONDS", var("CTG_SHUTDOWN_TIMEOUT_SECONDS"), 30, |n| *n <= 3_600)?;
        let page_token_secret = var("CTG_PAGE_TOKEN_SECRET").map(String::into_bytes);
        if page_token_secret.as_ref().is_some_and(|secret| secret.len() < MIN_SECRET_BYTES) {
            return Err(format!("CTG_PAGE_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes long"));
        }
        // At most 1 GiB: a document is one file of a contract, not an archive.
        let document_max_bytes =
            parse_number("CTG_DOCUMENT_MAX_BYTES", var("CTG_DOCUMENT_MAX_BYTES"), DEFAULT_DOCUMENT_MAX_BYTES, |n| {
                (1..=1 << 30).contains(n)
            })?;
        let diagnostic_aid_ceiling_cents = parse_number(
            "CTG_DIAGNOSTIC_AID_CEILING_CENTS",
            var("CTG_DIAGNOSTIC_AID_CEILING_CENTS"),
            DEFAULT_DIAGNOSTIC_AID_CEILING_CENTS,
            |n| (0..=1_000_000_000_000).contains(n),
        )?;
        let (idempotency_retention, feed_retention) = retentions(&var)?;
        let uploads = upload_limits(&var)?;
        let rate_limit_per_subject = parse_number(
            "CTG_RATE_LIMIT_PER_SUBJECT",
            var("CTG_RATE_LIMIT_PER_SUBJECT"),
            DEFAULT_RATE_LIMIT_PER_SUBJECT,
            |n| *n <= 1_000_000,
        )?;
        let rate_limit_per_address = parse_number(
            "CTG_RATE_LIMIT_PER_ADDRESS",
            var("CTG_RATE_LIMIT_PER_ADDRESS"),
            DEFAULT_RATE_LIMIT_PER_ADDRESS,
            |n| *n <= 1_000_000,
        )?;
        Ok(Self {
            database_url,
            bind,
            jwt_secret,
            jwt_jwks_file,
            jwt_issuer,
            jwt_audience,
            pool,
            workers,
            shutdown_timeout_seconds,
            page_token_secret,
            document_max_bytes,
            diagnostic_aid_ceiling_cents,
            dev,
            idempotency_retention,
            feed_retention,
            uploads,
            rate_limit_per_subject,
            rate_limit_per_address,
            metrics_bind,
        })
    }

    pub fn from_env(dev: bool) -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok(), dev)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)], dev: bool) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_vars(|name| vars.get(name).cloned(), dev)
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_need_only_a_secret_and_an_issuer() {
        let config = config(&[("CTG_JWT_SECRET", SECRET), ("CTG_JWT_ISSUER", "https://idp")], false).unwrap();
        assert_eq!(config.database_url, DatabaseUrl::parse(DEFAULT_DATABASE_URL).unwrap());
        assert_eq!(config.jwt_audience, "ctg-api");
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        assert_eq!(config.pool.max_size, default_pool_size(cores));
        assert_eq!(config.document_max_bytes, 20 * 1024 * 1024);
        assert_eq!(config.diagnostic_aid_ceiling_cents, 750_000);
        assert_eq!(config.idempotency_retention, Duration::from_hours(7 * 24));
        assert_eq!(config.feed_retention, Duration::from_hours(90 * 24));
        assert_eq!(config.metrics_bind, None, "no metrics unless asked for");
    }

    #[test]
    fn the_diagnostic_aid_ceiling_is_a_setting_in_cents() {
        let base = [("CTG_JWT_SECRET", SECRET), ("CTG_JWT_ISSUER", "i")];
        let mut vars = base.to_vec();
        vars.push(("CTG_DIAGNOSTIC_AID_CEILING_CENTS", "1000000"));
        assert_eq!(config(&vars, false).unwrap().diagnostic_aid_ceiling_cents, 1_000_000);
        let mut vars = base.to_vec();
        vars.push(("CTG_DIAGNOSTIC_AID_CEILING_CENTS", "-1"));
        assert!(config(&vars, false).unwrap_err().contains("CTG_DIAGNOSTIC_AID_CEILING_CENTS"));
    }

    #[test]
    fn a_short_secret_is_refused_with_its_name() {
        let error = config(&[("CTG_JWT_SECRET", "short"), ("CTG_JWT_ISSUER", "i")], false).unwrap_err();
        assert!(error.contains("CTG_JWT_SECRET"), "{error}");
    }

    #[test]
    fn no_key_is_refused_outside_dev_mode() {
        assert!(config(&[("CTG_JWT_ISSUER", "i")], false).unwrap_err().contains("CTG_JWT_SECRET"));
        assert_eq!(config(&[], true).unwrap().jwt_issuer, DEV_ISSUER);
    }

    #[test]
    fn dev_mode_refuses_a_real_key() {
        for key in [("CTG_JWT_SECRET", SECRET), ("CTG_JWT_JWKS_FILE", "/etc/ctg/jwks.json")] {
            let error = config(&[key, ("CTG_JWT_ISSUER", "https://idp")], true).unwrap_err();
            assert!(error.contains("--dev") && error.contains(key.0), "{error}");
        }
    }

    #[test]
    fn bad_numbers_and_addresses_name_their_variable() {
        let base = [("CTG_JWT_SECRET", SECRET), ("CTG_JWT_ISSUER", "i")];
        for (name, value) in [
            ("CTG_DB_POOL_SIZE", "0"),
            ("CTG_DB_TIMEOUT_MS", "soon"),
            ("CTG_WORKERS", "-1"),
            ("CTG_BIND", "localhost"),
            ("CTG_METRICS_BIND", "9090"),
            ("CTG_DOCUMENT_MAX_BYTES", "0"),
            ("CTG_FEED_RETENTION_SECONDS", "0"),
            ("CTG_IDEMPOTENCY_RETENTION_SECONDS", "forever"),
        ] {
            let mut vars = base.to_vec();
            vars.push((name, value));
            assert!(config(&vars, false).unwrap_err().contains(name), "{name}");
        }
        let mut vars = base.to_vec();
        vars.push(("DATABASE_URL", "mysql://x"));
        assert!(config(&vars, false).unwrap_err().contains("DATABASE_URL"));
    }
}
