//! The `ctg-api` command: serve, migrate, import the territory reference, mint tokens, print the
//! OpenAPI document.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ctg_api::auth::token::{TokenClaims, mint};
use ctg_api::config::Config;
use ctg_api::db;
use ctg_api::domain::reference::Reference;
use ctg_api::logging::{self, LogFormat};
use ctg_api::startup::{Application, prepare_database};

#[derive(Parser)]
#[command(name = "ctg-api", version, about = "The CTG API service: CAF contracts with local authorities")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, seed it on first start, and serve the API.
    Serve {
        /// Development mode: a random token secret when CTG_JWT_SECRET is unset, and a ready admin
        /// token printed at start. Never use it in production.
        #[arg(long, env = "CTG_DEV")]
        dev: bool,
    },
    /// Apply pending migrations and seed a fresh database, then exit.
    Migrate,
    /// Refresh départements, EPCI and communes from @etalab/decoupage-administratif files
    /// (departements.json, epci.json, communes.json) in DIR, in one transaction.
    ImportTerritories { dir: PathBuf },
    /// Mint an HS256 token with CTG_JWT_SECRET, CTG_JWT_ISSUER and CTG_JWT_AUDIENCE.
    Token {
        #[arg(long, value_parser = ["admin", "caf_agent", "collectivity", "integration"])]
        role: String,
        /// Département codes (caf_agent, integration); repeat or separate with commas.
        #[arg(long = "department", value_delimiter = ',')]
        departments: Vec<String>,
        /// SIRENs the user acts for (collectivity); repeat or separate with commas.
        #[arg(long = "siren", value_delimiter = ',')]
        sirens: Vec<String>,
        #[arg(long, default_value = "cli-user")]
        sub: String,
        #[arg(long, default_value_t = 3600)]
        lifetime_seconds: i64,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Ask the local service (at CTG_BIND) whether it is ready; exit 0 if so. For container health checks.
    Healthcheck,
}

fn main() -> ExitCode {
    match LogFormat::parse(std::env::var("CTG_LOG_FORMAT").ok().as_deref()) {
        Ok(format) => logging::init(format),
        Err(message) => {
            eprintln!("ctg-api: {message}");
            return ExitCode::from(2);
        }
    }
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ctg-api: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve { dev } => serve(&Config::from_env(dev)?),
        Command::Migrate => {
            let url = db::DatabaseUrl::parse(
                &std::env::var("DATABASE_URL").unwrap_or_else(|_| ctg_api::config::DEFAULT_DATABASE_URL.into()),
            )?;
            prepare_database(&url)
        }
        Command::ImportTerritories { dir } => import_territories(&dir),
        Command::Token { role, departments, sirens, sub, lifetime_seconds } => {
            let config = Config::from_env(false)?;
            let secret = config.jwt_secret.ok_or("CTG_JWT_SECRET is needed to mint a token")?;
            let mut claims = TokenClaims::new(&config.jwt_issuer, &config.jwt_audience, &sub, &role, lifetime_seconds);
            claims.departments = departments;
            claims.sirens = sirens;
            println!("{}", mint(&secret, &claims).map_err(|error| error.to_string())?);
            Ok(())
        }
        Command::Openapi => {
            print!("{}", ctg_api::openapi::document_json());
            Ok(())
        }
        Command::Healthcheck => healthcheck(),
    }
}

/// A plain HTTP/1.1 request to `/health/ready`, so that a container image needs no curl.
fn healthcheck() -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    let bind = std::env::var("CTG_BIND").unwrap_or_else(|_| ctg_api::config::DEFAULT_BIND.into());
    let mut address: SocketAddr = bind.parse().map_err(|_| format!("CTG_BIND={bind:?} is not an address:port"))?;
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|error| format!("{address}: {error}"))?;
    stream.set_read_timeout(Some(timeout)).map_err(|error| error.to_string())?;
    stream
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|error| error.to_string())?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).map_err(|error| error.to_string())?;
    if head.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        Err(format!("not ready: {}", String::from_utf8_lossy(&head)))
    }
}

fn import_territories(dir: &std::path::Path) -> Result<(), String> {
    let url = db::DatabaseUrl::parse(
        &std::env::var("DATABASE_URL").unwrap_or_else(|_| ctg_api::config::DEFAULT_DATABASE_URL.into()),
    )?;
    let reference = Reference::from_dir(dir).map_err(|error| format!("nothing imported: {error}"))?;
    prepare_database(&url)?;
    let mut conn = db::connect(&url).map_err(|error| format!("cannot open the database: {error}"))?;
    let started = std::time::Instant::now();
    let report = db::write_transaction(&mut conn, |conn| db::territories::import(conn, &reference))
        .map_err(|error| format!("nothing imported: {error}"))?;
    for (table, changes) in
        [("départements", report.departments), ("EPCI", report.epcis), ("communes", report.communes)]
    {
        println!("{table}: {} inserted, {} updated, {} deleted", changes.inserted, changes.updated, changes.deleted);
    }
    if report.is_empty() {
        println!("the reference was already up to date");
    }
    println!("done in {} ms", started.elapsed().as_millis());
    Ok(())
}

fn serve(config: &Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        log::info!("starting with {config:?}");
        let app = Application::build(config)?;
        if config.dev {
            print_dev_banner(config, &app);
        }
        app.run_until_stopped().await.map_err(|error| error.to_string())
    })
}

fn print_dev_banner(config: &Config, app: &Application) {
    let Some(secret) = app.dev_secret.as_deref() else {
        return;
    };
    let claims = TokenClaims::new(&config.jwt_issuer, &config.jwt_audience, "dev-admin", "admin", 12 * 3600);
    match mint(secret, &claims) {
        Ok(token) => {
            let host = config.bind.replace("0.0.0.0", "127.0.0.1");
            println!(
                "\nDev mode: an admin token valid 12 hours (never use --dev in production):\n\n  export TOKEN={token}\n"
            );
            println!("Try:\n\n  curl -s -H \"Authorization: Bearer $TOKEN\" http://{host}/v1/epcis/200000172\n");
            println!("Documentation: http://{host}/docs\n");
        }
        Err(error) => log::warn!("could not mint the dev token: {error}"),
    }
}
