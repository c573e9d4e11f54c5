//! Contracts: creation with a generated reference and computed coverage, the lifecycle and its
//! guards, amendments after signature, history of every change.

use serde_json::json;

use crate::fixtures::{BONNEVILLE_SIREN, FAUCIGNY, caf, commune, draft_ctg, epci, sign};
use crate::helpers::{admin_token, caf_agent_token, spawn_app};

#[tokio::test]
async fn a_contract_gets_a_reference_and_the_coverage_of_its_perimeter() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let answer = app.get(&format!("/v1/contracts/{}", contract.id), &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = &answer.body;
    assert_eq!(body["reference"], "CTG-074-2024-0001");
    assert_eq!(body["status"], "draft");
    assert_eq!(body["perimeter"]["covered_communes"], 7);
    let members = app.get(&format!("/v1/communes?epci={FAUCIGNY}"), &admin_token()).await;
    let population: i64 = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["population"].as_i64().unwrap())
        .sum();
    assert_eq!(body["perimeter"]["covered_population"], population);
    // Three parties' changes bumped the version: creation 1, two parties added.
    assert_eq!(answer.header("etag"), Some("\"3\""));

    let second = app
        .create("/v1/contracts", &json!({"kind": "ctg", "title": "Second", "department": "74", "start_date": "2024-03-01", "end_date": "2027-12-31"}))
        .await;
    assert_eq!(second["reference"], "CTG-074-2024-0002");
}

#[tokio::test]
async fn the_whole_lifecycle_signs_and_the_history_shows_every_step() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    sign(&app, &contract).await;
    let answer = app
        .get(&format!("/v1/contracts/{}", contract.id), &caf_agent_token(&["74"]))
        .await;
    assert_eq!(answer.body["status"], "active");
    assert_eq!(answer.body["signed_on"], "2024-02-01");

    let history = app
        .get(
            &format!("/v1/contracts/{}/history?page_size=200", contract.id),
            &admin_token(),
        )
        .await;
    let steps: Vec<(String, String)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap().to_owned(),
                entry["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("created", "contract"),
        ("created", "party"),
        ("created", "party"),
        ("transitioned", "contract"),
        ("updated", "party"),
        ("updated", "party"),
        ("transitioned", "contract"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(steps, expected);
    let last = history.body["items"].as_array().unwrap().last().unwrap();
    assert_eq!(last["before"]["status"], "in_review");
    assert_eq!(last["after"]["status"], "active");
    assert_eq!(last["actor"]["role"], "admin");

    let _ = commune(&app, BONNEVILLE_SIREN).await;
}
