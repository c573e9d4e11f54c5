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

use serde_json::{Value, json};

use ctg_api::auth::token::{TokenClaims, mint};
use ctg_api::startup::Application;

use crate::examples::tools_present;
use crate::fixtures::{BONNEVILLE_INSEE, FAUCIGNY};
use crate::helpers::{AUDIENCE, TestApp, fresh_database, spawn, test_config};

/// The README's sections whose shell blocks are curl walk-throughs. Each block leans on the
/// variables of the blocks before it, so they run in one session, in the README's order.
const WALK_THROUGHS: &[&str] = &[
    "A first walk through with curl",
    "A contract from draft to signature",
    "The money of a CTG: from a CEJ to the balance of a year",
    "Documents",
    "The project of territory",
    "Observations in bulk",
];

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

/// What the walk-through leaves behind: the CTG signed with its two signatories and the payee
/// that runs the crèche, the CEJ it replaced superseded, the bonus territoire that carried the
/// CEJ's money with 2024 paid to the cent, and the two observations of the bulk file.
async fn assert_walk_through_done(app: &TestApp, admin: &str) {
    let contracts = app.get("/v1/contracts?department=74&kind=ctg", admin).await;
    let [ctg, next] = contracts.body["items"].as_array().unwrap().as_slice() else {
        panic!("the CTG and its renewal expected in 74: {}", contracts.text);
    };
    let (ctg, next) = if ctg["status"] == "draft" { (next, ctg) } else { (ctg, next) };
    assert_eq!(ctg["reference"], "CTG-074-2024-0001", "{ctg}");
    assert_eq!(ctg["status"], "active", "the signature did not happen: {ctg}");
    let id = ctg["id"].as_str().unwrap();
    let parties = app.get(&format!("/v1/contracts/{id}/parties"), admin).await;
    assert_eq!(parties.body["items"].as_array().unwrap().len(), 4, "{}", parties.text);
    assert_project_of_territory(app, admin, ctg, next).await;
    let history = app.get(&format!("/v1/contracts/{id}/history?page_size=200"), admin).await;
    let moves: Vec<(&str, &str)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "transitioned" && entry["resource"] == "contract")
        .map(|entry| (entry["before"]["status"].as_str().unwrap(), entry["after"]["status"].as_str().unwrap()))
        .collect();
    assert_eq!(moves, [("draft", "in_review"), ("in_review", "active")], "{}", history.text);
    let cej_id = ctg["predecessor_ids"][0].as_str().unwrap();
    let cej = app.get(&format!("/v1/contracts/{cej_id}"), admin).await;
    assert_eq!(cej.body["status"], "superseded", "{}", cej.text);
    assert_money_to_the_cent(app, admin, id, cej_id).await;
    let documents = app.get(&format!("/v1/contracts/{id}/documents"), admin).await;
    let mut kinds: Vec<(&str, &str)> = documents.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|document| (document["kind"].as_str().unwrap(), document["media_type"].as_str().unwrap()))
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, [("minutes", "application/pdf"), ("signed_convention", "application/pdf")], "{}", documents.text);

    let rate =
        app.get(&format!("/v1/indicators/taux_couverture_eaje_epci/observations?geo_code={FAUCIGNY}"), admin).await;
    assert_eq!(rate.body["items"][0]["value"], "61.2", "{}", rate.text);
    let places = app.get(&format!("/v1/indicators/places_eaje/observations?geo_code={BONNEVILLE_INSEE}"), admin).await;
    assert_eq!(places.body["items"][0]["suppressed"], true, "{}", places.text);
}

/// What the project of territory walk-through leaves: the diagnostic, the COPIL with its minutes,
/// the review of 2024, Cluses in the perimeter by amendment 1 signed by the three signatories,
/// and the renewal as a draft from 2029 carrying the action not yet achieved.
async fn assert_project_of_territory(app: &TestApp, admin: &str, ctg: &Value, next: &Value) {
    let id = ctg["id"].as_str().unwrap();
    let diagnostic = app.get(&format!("/v1/contracts/{id}/diagnostic"), admin).await;
    assert_eq!(diagnostic.body["completed_on"], "2023-09-29", "{}", diagnostic.text);
    let meetings = app.get(&format!("/v1/contracts/{id}/meetings"), admin).await;
    let [copil] = meetings.body["items"].as_array().unwrap().as_slice() else { panic!("one COPIL: {}", meetings.text) };
    assert_eq!(copil["present"].as_array().unwrap().len(), 3, "{copil}");
    let evaluations = app.get(&format!("/v1/contracts/{id}/evaluations"), admin).await;
    assert_eq!(evaluations.body["items"][0]["year"], 2024, "{}", evaluations.text);
    assert_eq!(ctg["perimeter"]["communes"], json!(["74081"]), "{ctg}");
    let amendments = app.get(&format!("/v1/contracts/{id}/amendments"), admin).await;
    let [amendment] = amendments.body["items"].as_array().unwrap().as_slice() else {
        panic!("one amendment: {}", amendments.text)
    };
    assert_eq!((amendment["status"].as_str(), amendment["number"].as_i64()), (Some("signed"), Some(1)), "{amendment}");
    assert_eq!(amendment["signed_on"], "2025-07-21");
    assert_eq!(amendment["signatures"].as_array().unwrap().len(), 3, "{amendment}");
    assert_eq!(next["start_date"], "2029-01-01", "{next}");
    assert_eq!(next["predecessor_ids"], json!([id]), "{next}");
    assert_eq!(next["perimeter"]["communes"], json!(["74081"]), "{next}");
    let next_id = next["id"].as_str().unwrap();
    let actions = app.get(&format!("/v1/contracts/{next_id}/actions"), admin).await;
    assert_eq!(actions.body["items"][0]["code"], "A1.1", "{}", actions.text);
}

/// Every amount the money walk-through names, to the cent: the PSEJ of the CEJ, the bonus that
/// carries its last year (48,123.45 €) into each year of the CTG, the 2024 forecast (45,000.00 €)
/// and its advances (15,750.00 € twice), the evidence, the actual (47,000.00 €), the balance
/// (15,500.00 €) and the annex.
async fn assert_money_to_the_cent(app: &TestApp, admin: &str, ctg: &str, cej: &str) {
    let psej = app.get(&format!("/v1/contracts/{cej}/funding-commitments"), admin).await;
    let [psej] = psej.body["items"].as_array().unwrap().as_slice() else { panic!("one PSEJ: {}", psej.text) };
    let amounts = |commitment: &Value| -> Vec<(i64, i64)> {
        commitment["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|year| (year["year"].as_i64().unwrap(), year["amount_cents"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!((psej["programme"].as_str(), psej["status"].as_str()), (Some("psej"), Some("committed")));
    assert_eq!(amounts(psej), [(2022, 4_650_000), (2023, 4_812_345)]);

    let commitments = app.get(&format!("/v1/contracts/{ctg}/funding-commitments"), admin).await;
    let [bonus] = commitments.body["items"].as_array().unwrap().as_slice() else {
        panic!("one bonus: {}", commitments.text)
    };
    assert_eq!(
        (bonus["programme"].as_str(), bonus["money_origin"].as_str(), bonus["status"].as_str()),
        (Some("bonus_territoire_eaje"), Some("ex_cej"), Some("committed")),
        "{bonus}"
    );
    assert_eq!(bonus["continues_ids"], json!([psej["id"]]));
    assert_eq!(amounts(bonus), (2024..=2028).map(|year| (year, 4_812_345)).collect::<Vec<_>>());
    assert_eq!(
        (bonus["years"][0]["forecast_cents"].as_i64(), bonus["years"][0]["actual_cents"].as_i64()),
        (Some(4_500_000), Some(4_700_000))
    );
    assert_eq!(bonus["years"][0]["missing_evidence"], json!([]));
    assert_eq!(bonus["years"][1]["forecast_cents"], Value::Null);

    let id = bonus["id"].as_str().unwrap();
    let schedule = app.get(&format!("/v1/funding-commitments/{id}/schedule"), admin).await;
    let lines_2024: Vec<(&str, i64, i64, &str)> = schedule.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["year"] == 2024 && line["status"] != "cancelled")
        .map(|line| {
            let cents = |field: &str| line[field].as_i64().unwrap();
            (
                line["kind"].as_str().unwrap(),
                cents("amount_cents"),
                cents("paid_cents"),
                line["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines_2024,
        [
            ("advance", 1_575_000, 1_575_000, "paid"),
            ("advance", 1_575_000, 1_575_000, "paid"),
            ("balance", 1_550_000, 1_550_000, "paid"),
        ],
        "{}",
        schedule.text
    );
    let payments = app.get(&format!("/v1/funding-commitments/{id}/payments"), admin).await;
    let paid: Vec<i64> =
        payments.body["items"].as_array().unwrap().iter().map(|p| p["amount_cents"].as_i64().unwrap()).collect();
    assert_eq!(paid, [1_575_000, 1_575_000, 1_550_000], "{}", payments.text);
    let evidence = app.get(&format!("/v1/funding-commitments/{id}/evidence"), admin).await;
    let validated: Vec<(&str, &str)> = evidence.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|piece| (piece["kind"].as_str().unwrap(), piece["validated_on"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(validated.len(), 3, "{}", evidence.text);
    assert!(validated.iter().all(|(_, on)| *on == "2025-04-20"), "{}", evidence.text);

    let annex = app.get(&format!("/v1/contracts/{ctg}/annex"), admin).await;
    let [line] = annex.body["lines"].as_array().unwrap().as_slice() else { panic!("one line: {}", annex.text) };
    assert_eq!((line["equipment_name"].as_str(), line["places"].as_i64()), (Some("Crèche Les Marmottons"), Some(30)));
    assert_eq!(
        annex.body["total"],
        json!({"committed_cents": 24_061_725, "draft_cents": 0, "forecast_cents": 4_500_000,
               "actual_cents": 4_700_000, "paid_cents": 4_700_000}),
        "{}",
        annex.text
    );
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
