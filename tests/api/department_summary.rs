//! The departmental summary: its coverage figures against a count made here from the reference
//! files, its contracts, funding and latest coverage rates, its scope, and its CSV sections.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use crate::fixtures::{ANNECY_AGGLO, FAUCIGNY};
use crate::funding::{committed, signed_contract};
use crate::helpers::{TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

fn reference_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reference").join(format!("{name}.json.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::read(path).unwrap().as_slice()).read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// (communes, population) of département 74 in the reference, and of those that are members of
/// `epci`: counted from the files, not through the service.
fn counted_from_the_reference(epci: &str) -> ((i64, i64), (i64, i64)) {
    let members: BTreeSet<String> =
        reference_file("epci").as_array().unwrap().iter().find(|e| e["code"] == epci).unwrap()["membres"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["code"].as_str().unwrap().to_owned())
            .collect();
    let (mut all, mut covered) = ((0, 0), (0, 0));
    for commune in reference_file("communes").as_array().unwrap() {
        if commune["departement"] != "74" || commune["type"] != "commune-actuelle" {
            continue;
        }
        let population = commune["population"].as_i64().unwrap_or(0);
        all = (all.0 + 1, all.1 + population);
        if members.contains(commune["code"].as_str().unwrap()) {
            covered = (covered.0 + 1, covered.1 + population);
        }
    }
    (all, covered)
}

async fn summary(app: &TestApp, token: &str) -> Value {
    let answer = app.get("/v1/departments/74/summary", token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

#[tokio::test]
async fn the_summary_counts_coverage_as_the_reference_does_and_gathers_the_rest() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    committed(&app, &contract, &json!([{"year": 2025, "amount_cents": 1_000_000}]), &json!({})).await;
    // A draft naming a commune outside the Faucigny covers nothing yet.
    app.create("/v1/contracts", &json!({"kind": "ctg", "title": "Annecy", "department": "74", "start_date": "2025-01-01", "end_date": "2029-12-31", "fields": ["jeunesse"], "perimeter": {"communes": ["74010"]}})).await;
    let observations = format!(
        "indicator,geo_level,geo_code,period,value,suppressed,source\n\
         taux_couverture_eaje_epci,epci,{FAUCIGNY},2023,48.5,false,ONAPE\n\
         taux_couverture_eaje_epci,epci,{FAUCIGNY},2024,,true,ONAPE\n\
         taux_couverture_eaje_epci,epci,{ANNECY_AGGLO},2024,71.25,false,ONAPE\n"
    );
    let ingest = app
        .send(
            app.client
                .post(app.url("/v1/observations/bulk"))
                .bearer_auth(admin_token())
                .header("content-type", "text/csv")
                .body(observations),
        )
        .await;
    assert_eq!(ingest.status, 200, "{}", ingest.text);

    let body = summary(&app, &caf_agent_token(&["74"])).await;
    let ((communes, population), (covered, covered_population)) = counted_from_the_reference(FAUCIGNY);
    let coverage = &body["coverage"];
    assert_eq!(
        (coverage["communes_total"].as_i64(), coverage["population_total"].as_i64()),
        (Some(communes), Some(population))
    );
    assert_eq!(
        (coverage["communes_covered"].as_i64(), coverage["population_covered"].as_i64()),
        (Some(covered), Some(covered_population))
    );
    assert!(covered > 0 && covered < communes);
    assert_eq!(coverage["epcis_covered"], 1);
    assert!(coverage["epcis_total"].as_i64().unwrap() > 5);

    assert_eq!(
        body["contracts_by_status"],
        json!([{"kind": "ctg", "status": "draft", "count": 1}, {"kind": "ctg", "status": "active", "count": 1}])
    );
    let fields: Vec<(&str, i64)> = body["contracts_by_field"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["count"].as_i64().unwrap()))
        .collect();
    assert!(fields.contains(&("jeunesse", 2)) && fields.contains(&("petite_enfance", 1)), "{fields:?}");
    assert_eq!(body["funding"].as_array().unwrap().len(), 1);
    assert_eq!(
        (body["funding"][0]["year"].as_i64(), body["funding"][0]["committed_cents"].as_i64()),
        (Some(2025), Some(1_000_000))
    );
    assert_eq!(body["cej_to_renew"], json!([]));
    let rates: Vec<(&str, &str, Value)> = body["latest_coverage_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["epci_siren"].as_str().unwrap(), r["period"].as_str().unwrap(), r["value"].clone()))
        .collect();
    assert_eq!(rates, [(FAUCIGNY, "2024", Value::Null), (ANNECY_AGGLO, "2024", json!("71.25"))]);
}

#[tokio::test]
async fn the_summary_is_for_the_callers_departements_only() {
    let app = spawn_app().await;
    let mut integration = claims("integration");
    integration.departments = vec!["74".into()];
    summary(&app, &token_for(&integration)).await;
    summary(&app, &admin_token()).await;
    let other = app.get("/v1/departments/74/summary", &caf_agent_token(&["33"])).await;
    other.assert_problem(404, "NOT_FOUND");
    assert_eq!(other.body["detail"], app.get("/v1/departments/99/summary", &admin_token()).await.body["detail"]);
    app.get("/v1/departments/74/summary", &collectivity_token(&[FAUCIGNY])).await.assert_problem(403, "FORBIDDEN");
    app.get("/v1/departments/74/summary?year=2024", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
}

#[tokio::test]
async fn the_summary_as_csv_has_one_section_per_table() {
    let app = spawn_app().await;
    signed_contract(&app).await;
    let request =
        app.client.get(app.url("/v1/departments/74/summary")).bearer_auth(admin_token()).header("accept", "text/csv");
    let csv = app.send(request).await;
    assert_eq!((csv.status, csv.header("content-type")), (200, Some("text/csv; charset=utf-8")));
    assert!(csv.text.starts_with("\u{feff}# coverage\r\ncommunes_total;communes_covered;"), "{}", csv.text);
    for section in
        ["# contracts_by_status", "# contracts_by_field", "# cej_to_renew", "# funding", "# latest_coverage_rates"]
    {
        assert!(csv.text.contains(&format!("\r\n\r\n{section}\r\n")), "{section} missing: {}", csv.text);
    }
    assert!(csv.text.contains("\r\nctg;active;1\r\n"), "{}", csv.text);
}

/// A CEJ of 74 over the Faucigny, signed, its period over; returns its id.
async fn expired_cej(app: &TestApp, caf: &Value, faucigny: &Value) -> String {
    let cej = app
        .create("/v1/contracts", &json!({"kind": "cej", "title": "CEJ Faucigny 2019-2022", "department": "74", "start_date": "2019-01-01", "end_date": "2022-12-31", "fields": ["enfance"], "perimeter": {"epcis": [FAUCIGNY]}}))
        .await;
    let id = cej["id"].as_str().unwrap().to_owned();
    for organisation in [&caf["id"], &faucigny["id"]] {
        app.create(&format!("/v1/contracts/{id}/parties"), &json!({"organisation_id": organisation, "roles": ["signatory"], "signed_on": "2019-03-01", "deliberation_date": "2019-02-01", "deliberation_ref": "D1", "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"}))
            .await;
    }
    for action in ["submit", "sign"] {
        let answer = app.transition(&id, &admin_token(), &json!({"action": action})).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text);
    }
    id
}

#[tokio::test]
async fn a_cej_is_to_renew_until_a_signed_ctg_replaces_it() {
    let app = spawn_app().await;
    let caf = crate::fixtures::caf(&app, "74").await;
    let faucigny = crate::fixtures::epci(&app, FAUCIGNY).await;
    let cej = expired_cej(&app, &caf, &faucigny).await;
    let ctg = crate::fixtures::draft_ctg(&app, "74", &caf, &faucigny).await;

    let to_renew = summary(&app, &admin_token()).await["cej_to_renew"].clone();
    assert_eq!(to_renew.as_array().unwrap().len(), 1, "{to_renew}");
    assert_eq!((to_renew[0]["id"].as_str(), to_renew[0]["status"].as_str()), (Some(cej.as_str()), Some("expired")));

    let path = format!("/v1/contracts/{}", ctg.id);
    let etag = app.etag(&path).await;
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"predecessor_ids": [cej]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    crate::fixtures::sign(&app, &ctg).await;
    let after = summary(&app, &admin_token()).await;
    assert_eq!(after["cej_to_renew"], json!([]));
    assert!(
        after["contracts_by_status"]
            .as_array()
            .unwrap()
            .contains(&json!({"kind": "cej", "status": "superseded", "count": 1}))
    );
}
