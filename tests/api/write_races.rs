//! Writers racing on one contract: a change to a part of a contract and a change to the contract
//! itself take turns, so a rule read by one (the contract is signed, still open) still holds when
//! it commits. Two CAF agents with current ETags, sent at the same instant.

use serde_json::{Value, json};

use crate::fixtures::{BONNEVILLE_INSEE, ContractFixture, FAUCIGNY, caf, draft_ctg, eaje, epci, sign};
use crate::helpers::{TestApp, admin_token, spawn_app};

const ROUNDS: usize = 15;

/// A signed CTG with a draft commitment ready to commit; returns the contract and the commitment id.
async fn contract_with_draft_commitment(app: &TestApp, caf: &Value, faucigny: &Value) -> (ContractFixture, String) {
    let contract = draft_ctg(app, "74", caf, faucigny).await;
    sign(app, &contract).await;
    let path = format!("/v1/contracts/{}/parties/{}", contract.id, contract.epci_party);
    let etag = app.etag(&path).await;
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"roles": ["signatory", "pilot", "payee"]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let equipment = eaje(app, &contract.epci_organisation, BONNEVILLE_INSEE, 40).await;
    let commitment = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "equipment_id": equipment, "programme": "bonus_territoire_eaje", "basis": "lump_sum",
                    "origin": "new", "years": [{"year": 2025, "amount_cents": 1_000_000}], "decision_date": "2024-03-15"}),
        )
        .await;
    (contract, commitment["id"].as_str().unwrap().to_owned())
}

/// Where in the contract's history the commitment was committed and the contract terminated.
async fn commit_and_termination_positions(app: &TestApp, contract_id: &str) -> (Option<usize>, Option<usize>) {
    let history = app.get(&format!("/v1/contracts/{contract_id}/history?page_size=200"), &admin_token()).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let entries = history.body["items"].as_array().unwrap();
    let position = |resource: &str, status: &str| {
        entries.iter().position(|entry| {
            entry["resource"] == resource && entry["action"] == "transitioned" && entry["after"]["status"] == status
        })
    };
    (position("funding_commitment", "committed"), position("contract", "terminated"))
}

#[tokio::test]
async fn money_is_never_committed_under_a_contract_terminated_at_the_same_moment() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let mut both_succeeded = 0;
    for round in 0..ROUNDS {
        let (contract, commitment) = contract_with_draft_commitment(&app, &caf, &faucigny).await;
        let contract_etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;
        let commitment_etag = app.etag(&format!("/v1/funding-commitments/{commitment}")).await;
        let terminate = app
            .client
            .post(app.url(&format!("/v1/contracts/{}/transitions", contract.id)))
            .bearer_auth(admin_token())
            .header("If-Match", contract_etag)
            .json(&json!({"action": "terminate", "reason": "fusion des EPCI", "effective_on": "2025-06-30"}));
        let commit = app
            .client
            .post(app.url(&format!("/v1/funding-commitments/{commitment}/transitions")))
            .bearer_auth(admin_token())
            .header("If-Match", commitment_etag)
            .json(&json!({"action": "commit"}));
        let (terminated, committed) = tokio::join!(app.send(terminate), app.send(commit));
        assert!(matches!(committed.status, 200 | 409), "round {round}: {}", committed.text);
        if terminated.status == 412 {
            // The commit went first: it changed a part of the contract, so the contract's ETag moved.
            assert_eq!(committed.status, 200, "round {round}: {}", committed.text);
            continue;
        }
        assert_eq!(terminated.status, 200, "round {round}: {}", terminated.text);
        let (commit_at, termination_at) = commit_and_termination_positions(&app, &contract.id).await;
        let termination_at = termination_at.expect("the termination is in the history");
        if committed.status == 200 {
            both_succeeded += 1;
            let commit_at = commit_at.expect("the commit is in the history");
            assert!(
                commit_at < termination_at,
                "round {round}: the commitment was committed after the contract was terminated: {}",
                app.get(&format!("/v1/contracts/{}/history?page_size=200", contract.id), &admin_token()).await.text
            );
        } else {
            assert_eq!(commit_at, None, "round {round}: a refused commit left a trace");
            committed.assert_problem(409, "INVALID_STATE_TRANSITION");
        }
    }
    eprintln!("{both_succeeded} of {ROUNDS} rounds committed before the termination");
    assert!(both_succeeded < ROUNDS, "no round tried the commit after the termination");
}

/// A signed CEJ of the Faucigny, and a CTG replacing it, submitted with every signature: one
/// transition away from superseding the CEJ. Returns (CTG, CEJ) ids.
async fn ctg_ready_to_supersede(app: &TestApp, caf: &Value, faucigny: &Value, round: usize) -> (String, String) {
    let cej = app
        .create(
            "/v1/contracts",
            &json!({"kind": "cej", "title": format!("CEJ Faucigny {round}"), "department": "74",
                                         "start_date": "2019-01-01", "end_date": "2022-12-31", "fields": ["enfance"],
                                         "perimeter": {"epcis": [FAUCIGNY]}}),
        )
        .await;
    let cej_id = cej["id"].as_str().unwrap().to_owned();
    for organisation in [&caf["id"], &faucigny["id"]] {
        app.create(
            &format!("/v1/contracts/{cej_id}/parties"),
            &json!({"organisation_id": organisation, "roles": ["signatory"],
                     "signed_on": "2019-03-01", "deliberation_date": "2019-02-01", "deliberation_ref": "D1",
                     "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"}),
        )
        .await;
    }
    for action in ["submit", "sign"] {
        let answer = app.transition(&cej_id, &admin_token(), &json!({"action": action})).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text);
    }
    let ctg = draft_ctg(app, "74", caf, faucigny).await;
    let path = format!("/v1/contracts/{}", ctg.id);
    let etag = app.etag(&path).await;
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"predecessor_ids": [cej_id]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let submitted = app.transition(&ctg.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    for party in [&ctg.caf_party, &ctg.epci_party] {
        let party_path = format!("{path}/parties/{party}");
        let etag = app.etag(&party_path).await;
        let body =
            json!({"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "DEL-2024-007"});
        assert_eq!(app.patch_json(&party_path, &admin_token(), &etag, &body).await.status, 200);
    }
    (ctg.id, cej_id)
}

#[tokio::test]
async fn signing_a_ctg_while_its_cej_changes_never_deadlocks() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    for round in 0..8 {
        let (ctg, cej) = ctg_ready_to_supersede(&app, &caf, &faucigny, round).await;
        let etag = app.etag(&format!("/v1/contracts/{ctg}")).await;
        let sign = app
            .client
            .post(app.url(&format!("/v1/contracts/{ctg}/transitions")))
            .bearer_auth(admin_token())
            .header("If-Match", etag)
            .json(&json!({"action": "sign"}));
        let axis = app
            .client
            .post(app.url(&format!("/v1/contracts/{cej}/axes")))
            .bearer_auth(admin_token())
            .json(&json!({"code": format!("A{round}"), "title": "Petite enfance"}));
        let (signed, added) = tokio::join!(app.send(sign), app.send(axis));
        assert_eq!(signed.status, 200, "round {round}: {}", signed.text);
        // Before the signature the CEJ takes the axis; after it, it is superseded and refuses it.
        assert!(matches!(added.status, 201 | 409), "round {round}: {}", added.text);
        let cej_now = app.get(&format!("/v1/contracts/{cej}"), &admin_token()).await;
        assert_eq!(cej_now.body["status"], "superseded", "round {round}");
    }
}
