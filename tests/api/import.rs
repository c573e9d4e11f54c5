//! `import-territories`: refreshes the reference in one transaction, changing only what differs,
//! idempotently; a bad file set is refused with a clear message and nothing written.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use ctg_api::db::{self, territories};
use ctg_api::domain::reference::Reference;
use serde_json::Value;

use crate::helpers::{TestDatabase, admin_token, fresh_database, spawn_app};

fn embedded_file(name: &str) -> Value {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("reference").join(format!("{name}.gz"))).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice()).read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes the shipped reference to `dir` as plain JSON, after `edit` has changed it.
fn write_reference(dir: &Path, edit: impl FnOnce(&mut Value, &mut Value, &mut Value)) {
    let (mut departments, mut epcis, mut communes) =
        (embedded_file("departements.json"), embedded_file("epci.json"), embedded_file("communes.json"));
    edit(&mut departments, &mut epcis, &mut communes);
    for (name, value) in [("departements.json", departments), ("epci.json", epcis), ("communes.json", communes)] {
        std::fs::write(dir.join(name), value.to_string()).unwrap();
    }
}

fn import_command(database: &TestDatabase, dir: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ctg-api"))
        .arg("import-territories")
        .arg(dir)
        .env("DATABASE_URL", database.url().to_url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn find<'a>(rows: &'a mut Value, key: &str, code: &str) -> &'a mut Value {
    rows.as_array_mut().unwrap().iter_mut().find(|row| row[key] == code).unwrap()
}

#[test]
fn importing_the_same_reference_again_changes_nothing() {
    let database = fresh_database();
    let mut conn = db::connect(database.url()).unwrap();
    let reference = Reference::embedded().unwrap();
    let report = db::write_transaction(&mut conn, |conn| territories::import(conn, &reference)).unwrap();
    assert!(report.is_empty(), "{report:?}");
}

#[tokio::test]
async fn a_newer_reference_is_applied_with_a_report_of_what_changed() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    write_reference(dir.path(), |_, epcis, communes| {
        // A renamed commune, a new population, a commune moved out of its EPCI into a new one,
        // and a new arrondissement-free commune.
        find(communes, "code", "74042")["nom"] = "Bonneville-sur-Arve".into();
        find(communes, "code", "74024")["population"] = 2500.into();
        let faucigny = find(epcis, "code", "200000172");
        faucigny["membres"].as_array_mut().unwrap().retain(|m| m["code"] != "74049");
        epcis.as_array_mut().unwrap().push(serde_json::json!({
            "code": "200000180", "nom": "CC Nouvelle", "type": "CC", "modeFinancement": "FPU",
            "populationMunicipale": 600, "membres": [{"code": "74049"}]
        }));
    });
    let (succeeded, output) = import_command(&app.database, dir.path());
    assert!(succeeded, "{output}");
    // Haute-Savoie's population follows its commune's.
    assert!(output.contains("départements: 0 inserted, 1 updated, 0 deleted"), "{output}");
    assert!(output.contains("EPCI: 1 inserted, 0 updated, 0 deleted"), "{output}");
    assert!(output.contains("communes: 0 inserted, 3 updated, 0 deleted"), "{output}");

    // The running service reads the new reference at once.
    let faucigny = app.get("/v1/epcis/200000172", &admin_token()).await;
    assert_eq!(faucigny.body["member_count"], 6);
    let bonneville = app.get("/v1/communes/74042", &admin_token()).await;
    assert_eq!(bonneville.body["name"], "Bonneville-sur-Arve");
    let brizon = app.get("/v1/communes/74049", &admin_token()).await;
    assert_eq!(brizon.body["epci_siren"], "200000180");

    let (succeeded, output) = import_command(&app.database, dir.path());
    assert!(succeeded, "{output}");
    assert!(output.contains("already up to date"), "a second run changes nothing: {output}");
}

#[tokio::test]
async fn communes_and_epcis_gone_from_the_reference_are_removed() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    write_reference(dir.path(), |_, epcis, communes| {
        epcis.as_array_mut().unwrap().retain(|e| e["code"] != "200000172");
        communes.as_array_mut().unwrap().retain(|c| c["code"] != "74049");
    });
    let (succeeded, output) = import_command(&app.database, dir.path());
    assert!(succeeded, "{output}");
    assert!(output.contains("EPCI: 0 inserted, 0 updated, 1 deleted"), "{output}");
    // 74049 deleted; its six former neighbours lose their EPCI.
    assert!(output.contains("communes: 0 inserted, 6 updated, 1 deleted"), "{output}");
    app.get("/v1/epcis/200000172", &admin_token()).await.assert_problem(404, "NOT_FOUND");
    app.get("/v1/communes/74049", &admin_token()).await.assert_problem(404, "NOT_FOUND");
}

/// A change to the departments, EPCI and communes files.
type Edit = dyn FnOnce(&mut Value, &mut Value, &mut Value);

#[tokio::test]
async fn a_bad_file_set_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let cases: Vec<(&str, Box<Edit>)> = vec![
        (
            "74999",
            Box::new(|_, epcis: &mut Value, communes: &mut Value| {
                // A valid change next to a member that does not exist: the valid one must not land.
                find(communes, "code", "74042")["nom"] = "Changed".into();
                find(epcis, "code", "200000172")["membres"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"code": "74999"}));
            }),
        ),
        (
            "invalid SIREN",
            Box::new(|_, _, communes: &mut Value| {
                find(communes, "code", "74042")["nom"] = "Changed".into();
                find(communes, "code", "74024")["siren"] = "217400242".into();
            }),
        ),
        (
            "département 00",
            Box::new(|_, _, communes: &mut Value| {
                find(communes, "code", "74042")["departement"] = "00".into();
            }),
        ),
        (
            "not a valid file",
            Box::new(|departments: &mut Value, _, _| {
                *departments = serde_json::json!({"not": "a list"});
            }),
        ),
    ];
    for (expected, edit) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_reference(dir.path(), edit);
        let (succeeded, output) = import_command(&app.database, dir.path());
        assert!(!succeeded, "{expected}: {output}");
        assert!(output.contains("nothing imported") && output.contains(expected), "{expected}: {output}");
        assert_eq!(output.lines().count(), 1, "one clear line: {output}");
        let bonneville = app.get("/v1/communes/74042", &admin_token()).await;
        assert_eq!(bonneville.body["name"], "Bonneville", "{expected}: nothing written");
    }

    let empty = tempfile::tempdir().unwrap();
    let (succeeded, output) = import_command(&app.database, empty.path());
    assert!(!succeeded);
    assert!(output.contains("departements.json") && output.contains("not found"), "{output}");
}

#[tokio::test]
async fn contracts_follow_the_reference_their_coverage_is_computed_from() {
    let app = spawn_app().await;
    let contract = app
        .create("/v1/contracts", &serde_json::json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31", "perimeter": {"epcis": ["200000172"]}}))
        .await;
    assert_eq!(contract["perimeter"]["covered_communes"], 7);
    let dir = tempfile::tempdir().unwrap();
    write_reference(dir.path(), |_, epcis, communes| {
        find(epcis, "code", "200000172")["membres"].as_array_mut().unwrap().retain(|m| m["code"] != "74049");
        find(communes, "code", "74042")["population"] = 20_000.into();
    });
    let (succeeded, output) = import_command(&app.database, dir.path());
    assert!(succeeded, "{output}");
    let members = app.get("/v1/communes?epci=200000172", &admin_token()).await;
    let population: i64 =
        members.body["items"].as_array().unwrap().iter().map(|c| c["population"].as_i64().unwrap()).sum();
    let read = app.get(&format!("/v1/contracts/{}", contract["id"].as_str().unwrap()), &admin_token()).await;
    assert_eq!(read.body["perimeter"]["covered_communes"], 6);
    assert_eq!(read.body["perimeter"]["covered_population"], population);
}
