//! Renewal: a signed CTG's next CTG, as a draft, with its perimeter, parties (to sign again) and
//! what its action plan has not achieved yet; signing it supersedes the old one.

use serde_json::{Value, json};

use crate::fixtures::{ContractFixture, FAUCIGNY, caf, draft_ctg, epci, sign};
use crate::helpers::{admin_token, collectivity_token, spawn_app};

fn items(answer: &Value) -> Vec<Value> {
    answer["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_signed_ctg_is_renewed_with_what_it_has_not_achieved_and_superseded_at_signature() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let old = draft_ctg(&app, "74", &caf, &faucigny).await;
    let path = format!("/v1/contracts/{}", old.id);
    // Axis A1 keeps an action under way; axis A2's only action is done; axis A3 has none yet.
    let a1 = app.create(&format!("{path}/axes"), &json!({"code": "A1", "title": "Petite enfance"})).await;
    let a2 = app.create(&format!("{path}/axes"), &json!({"code": "A2", "title": "Parentalité"})).await;
    app.create(&format!("{path}/axes"), &json!({"code": "A3", "title": "Jeunesse"})).await;
    let action =
        |axis: &Value, code: &str| json!({"axis_id": axis["id"], "code": code, "title": format!("Action {code}")});
    let under_way = app.create(&format!("{path}/actions"), &action(&a1, "A1.1")).await;
    let done = app.create(&format!("{path}/actions"), &action(&a1, "A1.2")).await;
    let done_too = app.create(&format!("{path}/actions"), &action(&a2, "A2.1")).await;
    for (action, status) in [(&under_way, "in_progress"), (&done, "completed"), (&done_too, "completed")] {
        let action_path = format!("{path}/actions/{}", action["id"].as_str().unwrap());
        let etag = app.etag(&action_path).await;
        let body = json!({"status": status, "actual_start": "2024-03-01"});
        assert_eq!(app.patch_json(&action_path, &admin_token(), &etag, &body).await.status, 200);
    }
    // Not signed yet: nothing to renew.
    let early = app.post_json(&format!("{path}/renewal"), &admin_token(), &json!({"end_date": "2033-12-31"})).await;
    early.assert_problem(409, "CONFLICT");
    sign(&app, &old).await;

    let refused = app.post_json(&format!("{path}/renewal"), &admin_token(), &json!({"end_date": "2028-06-30"})).await;
    assert_eq!(refused.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/end_date");
    let renewed = app.post_json(&format!("{path}/renewal"), &admin_token(), &json!({"end_date": "2033-12-31"})).await;
    assert_eq!(renewed.status, 201, "{}", renewed.text);
    let new = renewed.body.clone();
    let new_path = format!("/v1/contracts/{}", new["id"].as_str().unwrap());
    assert_eq!(renewed.header("location"), Some(new_path.as_str()));
    assert_eq!(renewed.header("etag").unwrap(), format!("\"{}\"", new["version"]));
    assert_eq!(
        (new["kind"].as_str(), new["status"].as_str(), new["start_date"].as_str(), new["end_date"].as_str()),
        (Some("ctg"), Some("draft"), Some("2029-01-01"), Some("2033-12-31"))
    );
    assert_eq!(new["predecessor_ids"], json!([old.id]));
    assert_eq!(new["perimeter"]["epcis"], json!([FAUCIGNY]));
    assert_eq!(new["title"], "CTG CC Faucigny - Glières (renouvellement)");
    // The same parties with their roles, to sign again.
    let parties = items(&app.get(&format!("{new_path}/parties"), &admin_token()).await.body);
    assert_eq!(parties.len(), 2);
    assert!(parties.iter().all(|p| p["signed_on"].is_null() && p["deliberation_ref"].is_null()), "{parties:?}");
    // The axes with something left to do, and the action under way, planned again.
    let axes: Vec<String> = items(&app.get(&format!("{new_path}/axes"), &admin_token()).await.body)
        .iter()
        .map(|axis| axis["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(axes, ["A1", "A3"]);
    let actions = items(&app.get(&format!("{new_path}/actions"), &admin_token()).await.body);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!((actions[0]["code"].as_str(), actions[0]["status"].as_str()), (Some("A1.1"), Some("planned")));
    assert!(actions[0]["actual_start"].is_null());
    // The copies are the new contract's, in its own history.
    let history = items(&app.get(&format!("{new_path}/history?page_size=200"), &admin_token()).await.body);
    let copied: Vec<&Value> = history.iter().filter(|entry| entry["resource"] != "contract").collect();
    assert_eq!(copied.len(), 2 + 2 + 1, "two parties, two axes, one action");
    assert!(copied.iter().all(|entry| entry["after"]["contract_id"] == new["id"]), "{copied:?}");
    // One renewal at a time.
    let again = app.post_json(&format!("{path}/renewal"), &admin_token(), &json!({"end_date": "2033-12-31"})).await;
    again.assert_problem(409, "CONFLICT");
    // Nor by naming it as the predecessor of a contract created by hand.
    let by_hand = app
        .post_json(
            "/v1/contracts",
            &admin_token(),
            &json!({"kind": "ctg", "title": "Autre CTG", "department": "74", "start_date": "2029-01-01",
                    "end_date": "2033-12-31", "perimeter": {"epcis": [FAUCIGNY]}, "predecessor_ids": [old.id]}),
        )
        .await;
    let problem = by_hand.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(problem["errors"][0]["code"], "INVALID_PREDECESSOR", "{problem}");
    // A collectivity party reads the new contract but does not renew.
    let faucigny_token = collectivity_token(&[FAUCIGNY]);
    assert_eq!(app.get(&new_path, &faucigny_token).await.status, 200);
    let theirs =
        app.post_json(&format!("{new_path}/renewal"), &faucigny_token, &json!({"end_date": "2038-12-31"})).await;
    theirs.assert_problem(403, "FORBIDDEN");

    // Signing the new CTG supersedes the old one.
    let by_organisation =
        |id: &Value| parties.iter().find(|p| p["organisation_id"] == *id).unwrap()["id"].as_str().unwrap().to_owned();
    let next = ContractFixture {
        id: new["id"].as_str().unwrap().to_owned(),
        caf_party: by_organisation(&caf["id"]),
        epci_party: by_organisation(&faucigny["id"]),
        epci_organisation: faucigny["id"].as_str().unwrap().to_owned(),
    };
    sign(&app, &next).await;
    assert_eq!(app.get(&path, &admin_token()).await.body["status"], "superseded");
}
