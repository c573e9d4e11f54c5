//! The README's curl walk-throughs, typed as a new user would type them, against a live server:
//! the shell blocks of the sections in [`WALK_THROUGHS`] run in reading order, in one bash session
//! under `set -euo pipefail`. Every request must answer as the reader expects (a success, but 401
//! for a `/v1` request without a token), and what the walk-through leaves behind must be there
//! afterwards.
//! Needs bash, curl and jq, as `examples.rs` does: skipped without them, unless
//! `CTG_REQUIRE_EXAMPLE_TOOLS` is set.
//!
//! The text runs as written but for three things: the README's address (`http://127.0.0.1:8080`,
//! `localhost:8080`) becomes the live server's; `cargo run -- serve &` does nothing, since the
//! suite's server already listens; `cargo run -q -- token …` runs the binary cargo built for the
//! suite. The server checks tokens with the secret and issuer the walk-through exports, so the
//! tokens the README mints are the ones it accepts.

use std::path::Path;
use std::process::Command;

use ctg_api::auth::token::{TokenClaims, mint};
use ctg_api::startup::Application;

use crate::examples::tools_present;
use crate::fixtures::{BONNEVILLE_INSEE, FAUCIGNY};
use crate::helpers::{AUDIENCE, TestApp, fresh_database, spawn, test_config};

/// The README's sections whose shell blocks are curl walk-throughs. Each block leans on the
/// variables of the blocks before it, so they run in one session, in the README's order.
const WALK_THROUGHS: &[&str] =
    &["A first walk through with curl", "A contract from draft to signature", "Observations in bulk"];

/// Set before the README's text: strict mode, and stand-ins for `cargo` and `curl`.
const PRELUDE: &str = r#"set -euo pipefail

# `cargo run [-q] -- ARGS` as the README types it: the suite's server already listens, and any
# other command runs the binary cargo built for the suite.
cargo() {
    if [[ "${1-}" != run ]]; then
        echo "cargo $*: the README test knows only 'cargo run -- ...'" >&2
        return 2
    fi
    while [[ $# -gt 0 && "$1" != -- ]]; do shift; done
    shift || true
    if [[ "${1-}" == serve ]]; then
        return 0
    fi
    "$CTG_API_BIN" "$@"
}

# curl as the README calls it, plus one line per request for the test, away from what the
# README reads: whether it carried a token, the status, the method and the URL.
curl() {
    local sent=anonymous arg
    for arg in "$@"; do
        if [[ "$arg" == "Authorization: Bearer "* ]]; then sent=bearer; fi
    done
    command curl --write-out "%{stderr}$sent %{http_code} %{method} %{url_effective}\n" "$@" \
        2>>"$CTG_README_TRANSCRIPT"
}
"#;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// A fenced ```sh (or ```bash) block and the heading it stands under.
struct ShellBlock {
    heading: String,
    code: String,
}

fn shell_blocks(markdown: &str) -> Vec<ShellBlock> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            // Taken whole, so that a `#` comment inside a block is never read as a heading.
            let code: Vec<&str> = lines.by_ref().take_while(|line| !line.starts_with("```")).collect();
            if matches!(language.trim(), "sh" | "bash" | "shell") {
                blocks.push(ShellBlock { heading: heading.clone(), code: code.join("\n") });
            }
        } else if line.starts_with('#') {
            line.trim_start_matches('#').trim().clone_into(&mut heading);
        }
    }
    blocks
}

/// The blocks of the walk-through sections, in the README's order, as one script.
fn walk_through(markdown: &str) -> String {
    let blocks = shell_blocks(markdown);
    for section in WALK_THROUGHS {
        assert!(
            blocks.iter().any(|block| block.heading == *section),
            "the README has no shell block under “{section}”"
        );
    }
    let parts: Vec<&str> = blocks
        .iter()
        .filter(|block| WALK_THROUGHS.contains(&block.heading.as_str()))
        .map(|block| block.code.as_str())
        .collect();
    parts.join("\n\n")
}

/// The value the script gives `name` (`NAME=value`, as in `export NAME=value`).
fn assigned(script: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    let value = script
        .split_whitespace()
        .find_map(|word| word.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("the walk-through never sets {name}"));
    value.trim_matches(['"', '\'']).to_owned()
}

/// The script, talking to the live server at `address` (`http://127.0.0.1:PORT`).
fn aimed_at(script: &str, address: &str) -> String {
    let host = address.trim_start_matches("http://");
    let script = script.replace("http://127.0.0.1:8080", address).replace("localhost:8080", host);
    // A form of the address the test missed would send the reader's requests to whatever
    // listens on 8080 on this machine.
    assert!(!script.contains(":8080"), "the walk-through names port 8080 in a form the test does not redirect");
    format!("{PRELUDE}\n{script}\n")
}

struct Run {
    succeeded: bool,
    stdout: String,
    stderr: String,
    transcript: String,
}

/// Runs `script` with bash in `dir`, from a clean environment (no `~/.curlrc`, no CTG_ settings of
/// the developer's shell).
async fn run(script: String, dir: &Path) -> Run {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let transcript = dir.join("requests.log");
        std::fs::write(dir.join("readme.sh"), script).unwrap();
        let output = Command::new("bash")
            .arg("readme.sh")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("CTG_API_BIN", env!("CARGO_BIN_EXE_ctg-api"))
            .env("CTG_README_TRANSCRIPT", &transcript)
            .output()
            .unwrap();
        Run {
            succeeded: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            transcript: std::fs::read_to_string(&transcript).unwrap_or_default(),
        }
    })
    .await
    .unwrap()
}

/// The requests whose answer a reader of the README would not expect: an error, but for the 401
/// of a `/v1` request sent without a token. Lines curl wrote besides its requests are listed too.
fn unexpected_answers(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let [sent, status, _method, url] = words.as_slice() else { return true };
            let Ok(status) = status.parse::<u16>() else { return true };
            // `http:`, ``, `host:port`, then the path.
            let under_v1 = url.splitn(4, '/').nth(3).is_some_and(|path| path.starts_with("v1/"));
            match *sent {
                "anonymous" if under_v1 => status != 401,
                "anonymous" | "bearer" => !(200..300).contains(&status),
                _ => true,
            }
        })
        .collect()
}

/// What the walk-through leaves behind: the CTG submitted for review with its two signatories,
/// and the two observations of the bulk file.
async fn assert_walk_through_done(app: &TestApp, admin: &str) {
    let contracts = app.get("/v1/contracts?department=74", admin).await;
    let [contract] = contracts.body["items"].as_array().unwrap().as_slice() else {
        panic!("one contract expected in 74: {}", contracts.text);
    };
    assert_eq!(contract["reference"], "CTG-074-2024-0001", "{contract}");
    assert_eq!(contract["status"], "in_review", "the submission did not happen: {contract}");
    let id = contract["id"].as_str().unwrap();
    let parties = app.get(&format!("/v1/contracts/{id}/parties"), admin).await;
    assert_eq!(parties.body["items"].as_array().unwrap().len(), 2, "{}", parties.text);
    let history = app.get(&format!("/v1/contracts/{id}/history"), admin).await;
    let last = history.body["items"].as_array().unwrap().last().unwrap();
    let submission = (last["action"].as_str(), last["before"]["status"].as_str(), last["after"]["status"].as_str());
    assert_eq!(
        submission,
        (Some("transitioned"), Some("draft"), Some("in_review")),
        "the history does not end with the submission: {}",
        history.text
    );

    let rate =
        app.get(&format!("/v1/indicators/taux_couverture_eaje_epci/observations?geo_code={FAUCIGNY}"), admin).await;
    assert_eq!(rate.body["items"][0]["value"], "61.2", "{}", rate.text);
    let places = app.get(&format!("/v1/indicators/places_eaje/observations?geo_code={BONNEVILLE_INSEE}"), admin).await;
    assert_eq!(places.body["items"][0]["suppressed"], true, "{}", places.text);
}

#[test]
fn every_curl_block_of_the_readme_is_in_a_walk_through_the_suite_runs() {
    let blocks = shell_blocks(&readme());
    let not_run: Vec<&str> = blocks
        .iter()
        .filter(|block| block.code.contains("curl ") && !WALK_THROUGHS.contains(&block.heading.as_str()))
        .map(|block| block.heading.as_str())
        .collect();
    assert!(not_run.is_empty(), "README sections with curl that tests/api/readme.rs does not run: {not_run:?}");
    // Also fails when a section of WALK_THROUGHS is renamed or loses its block.
    walk_through(&readme());
}

#[tokio::test]
async fn the_readme_walk_throughs_succeed_against_a_live_server() {
    if !tools_present() {
        eprintln!("skipped: bash, curl and jq are needed to run the README's walk-throughs");
        return;
    }
    let script = walk_through(&readme());
    let (secret, issuer) = (assigned(&script, "CTG_JWT_SECRET"), assigned(&script, "CTG_JWT_ISSUER"));
    let database = fresh_database();
    let mut config = test_config(database.url());
    config.jwt_secret = Some(secret.clone().into_bytes());
    config.jwt_issuer.clone_from(&issuer);
    let app = spawn(Application::build(&config).expect("the application starts"), database);
    let dir = tempfile::tempdir().unwrap();

    let run = run(aimed_at(&script, &app.address), dir.path()).await;

    let unexpected = unexpected_answers(&run.transcript);
    assert!(
        unexpected.is_empty(),
        "README steps answered otherwise than the README leads a reader to expect \
         (a success, but 401 for /v1 without a token):\n{}\n\nall requests:\n{}\nstderr:\n{}",
        unexpected.join("\n"),
        run.transcript,
        run.stderr
    );
    assert!(
        run.succeeded,
        "the walk-through stopped:\n{}\nstdout:\n{}\nrequests:\n{}",
        run.stderr, run.stdout, run.transcript
    );
    let admin = mint(secret.as_bytes(), &TokenClaims::new(&issuer, AUDIENCE, "readme-check", "admin", 600)).unwrap();
    assert_walk_through_done(&app, &admin).await;
}
