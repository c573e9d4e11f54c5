//! Contracts: creation with a generated reference and computed coverage, the lifecycle and its
//! guards, amendments after signature, history of every change.

use serde_json::json;

use crate::fixtures::{
    ANNECY_AGGLO, BONNEVILLE_INSEE, BONNEVILLE_SIREN, FAUCIGNY, caf, commune, draft_ctg, epci, sign,
};
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
    let population: i64 =
        members.body["items"].as_array().unwrap().iter().map(|c| c["population"].as_i64().unwrap()).sum();
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
    let answer = app.get(&format!("/v1/contracts/{}", contract.id), &caf_agent_token(&["74"])).await;
    assert_eq!(answer.body["status"], "active");
    assert_eq!(answer.body["signed_on"], "2024-02-01");

    let history = app.get(&format!("/v1/contracts/{}/history?page_size=200", contract.id), &admin_token()).await;
    let steps: Vec<(String, String)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["action"].as_str().unwrap().to_owned(), entry["resource"].as_str().unwrap().to_owned()))
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

#[tokio::test]
async fn a_refused_transition_lists_every_unmet_condition() {
    let app = spawn_app().await;
    let empty = app
        .create("/v1/contracts", &json!({"kind": "ctg", "title": "Empty", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31", "fields": ["petite_enfance"]}))
        .await;
    let id = empty["id"].as_str().unwrap();
    let answer = app.transition(id, &admin_token(), &json!({"action": "submit"})).await;
    let body = answer.assert_problem(409, "INVALID_STATE_TRANSITION");
    let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        vec![
            "MISSING_REQUIRED_FIELD",
            "MISSING_REQUIRED_FIELD",
            "MISSING_ADDITIONAL_FIELD",
            "EMPTY_PERIMETER",
            "MISSING_CAF_SIGNATORY",
            "MISSING_COLLECTIVITY_SIGNATORY"
        ]
    );

    for (action, expected) in
        [("sign", "WRONG_STATUS"), ("terminate", "WRONG_STATUS"), ("request_changes", "WRONG_STATUS")]
    {
        let answer = app
            .transition(id, &admin_token(), &json!({"action": action, "reason": "r", "effective_on": "2025-01-01"}))
            .await;
        let body = answer.assert_problem(409, "INVALID_STATE_TRANSITION");
        assert_eq!(body["errors"][0]["code"], expected, "{action}");
    }
    let answer = app.transition(id, &admin_token(), &json!({"action": "cancel"})).await;
    assert_eq!(answer.assert_problem(409, "INVALID_STATE_TRANSITION")["errors"][0]["code"], "REASON_REQUIRED");
    let answer = app.transition(id, &admin_token(), &json!({"action": "cancel", "reason": "doublon"})).await;
    assert_eq!((answer.status, answer.body["status"].as_str()), (200, Some("cancelled")));
    let answer = app.transition(id, &admin_token(), &json!({"action": "submit"})).await;
    answer.assert_problem(409, "INVALID_STATE_TRANSITION");
}

#[tokio::test]
async fn sign_needs_every_signature_and_deliberation() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let submit = app.transition(&contract.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submit.status, 200, "{}", submit.text);
    let answer = app.transition(&contract.id, &admin_token(), &json!({"action": "sign"})).await;
    let body = answer.assert_problem(409, "INVALID_STATE_TRANSITION");
    let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        vec!["PARTY_NOT_SIGNED", "PARTY_NOT_SIGNED", "MISSING_DELIBERATION_DATE", "MISSING_DELIBERATION_REF"]
    );

    // Sent back for changes, edited, submitted again.
    let back = app
        .transition(
            &contract.id,
            &admin_token(),
            &json!({"action": "request_changes", "reason": "ajouter l'axe jeunesse"}),
        )
        .await;
    assert_eq!(
        (back.status, back.body["status"].as_str(), back.body["status_reason"].as_str()),
        (200, Some("draft"), Some("ajouter l'axe jeunesse"))
    );
}

#[tokio::test]
async fn signing_a_ctg_supersedes_the_cejs_it_replaces() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let cej = draft_ctg(&app, "74", &caf, &faucigny).await;
    let path = format!("/v1/contracts/{}", cej.id);
    // Turn the fixture into a signed CEJ: kind cannot change, so build one directly.
    let cej_body = app
        .create("/v1/contracts", &json!({"kind": "cej", "title": "CEJ Faucigny 2019-2022", "department": "74", "start_date": "2019-01-01", "end_date": "2022-12-31", "fields": ["enfance"], "perimeter": {"epcis": [FAUCIGNY]}}))
        .await;
    assert_eq!(cej_body["reference"], "CEJ-074-2019-0001");
    let cej_id = cej_body["id"].as_str().unwrap().to_owned();
    for (organisation, roles) in [(&caf["id"], json!(["signatory"])), (&faucigny["id"], json!(["signatory"]))] {
        app.create(&format!("/v1/contracts/{cej_id}/parties"), &json!({"organisation_id": organisation, "roles": roles, "signed_on": "2019-03-01", "deliberation_date": "2019-02-01", "deliberation_ref": "D1", "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"}))
            .await;
    }
    for action in ["submit", "sign"] {
        let answer = app.transition(&cej_id, &admin_token(), &json!({"action": action})).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text);
    }
    assert_eq!(app.get(&format!("/v1/contracts/{cej_id}"), &admin_token()).await.body["status"], "expired");

    // A CEJ cannot replace anything; the CTG can replace the CEJ, but not itself.
    let etag = app.etag(&path).await;
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"predecessor_ids": [cej_id, cej.id]})).await;
    let body = answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(body["errors"][0]["pointer"], "/predecessor_ids/1");
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"predecessor_ids": [cej_id]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["predecessor_ids"], json!([cej_id]));

    sign(&app, &cej).await;
    let replaced = app.get(&format!("/v1/contracts/{cej_id}"), &admin_token()).await;
    assert_eq!(replaced.body["status"], "superseded");
    assert_eq!(replaced.body["status_reason"], "replaced by CTG-074-2024-0001");
    let history = app.get(&format!("/v1/contracts/{cej_id}/history"), &admin_token()).await;
    let last = history.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["action"].as_str(), last["after"]["status"].as_str()), (Some("transitioned"), Some("superseded")));
}

#[tokio::test]
async fn a_perimeter_is_the_size_of_a_departement_and_a_refusal_stays_small() {
    let app = spawn_app().await;
    // 20,000 communes: refused at once for its size, not commune by commune.
    let communes: Vec<String> = (0..20_000).map(|n| format!("{:05}", 10_000 + n)).collect();
    let body = json!({"kind": "ctg", "title": "Trop grand", "department": "74", "start_date": "2024-01-01",
                      "end_date": "2028-12-31", "perimeter": {"communes": communes}});
    let answer = app.post_json("/v1/contracts", &admin_token(), &body).await;
    assert_eq!(answer.validation_errors(), [("/perimeter/communes", "LENGTH")]);
    assert!(answer.text.len() < 2_000, "{} bytes", answer.text.len());
    // 600 unknown communes, each wrong: the answer lists the first 100 and says how many there are.
    let communes: Vec<String> = (0..600).map(|n| format!("99{n:03}")).collect();
    let body = json!({"kind": "ctg", "title": "Inconnues", "department": "74", "start_date": "2024-01-01",
                      "end_date": "2028-12-31", "perimeter": {"communes": communes}});
    let answer = app.post_json("/v1/contracts", &admin_token(), &body).await;
    let problem = answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 100);
    assert_eq!(problem["detail"], "600 fields are invalid; the first 100 are listed");
}

#[tokio::test]
async fn after_signature_the_terms_change_only_by_amendment() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    sign(&app, &contract).await;
    let path = format!("/v1/contracts/{}", contract.id);
    for change in [
        json!({"end_date": "2029-12-31"}),
        json!({"fields": ["petite_enfance"]}),
        json!({"perimeter": {"communes": ["74042"]}}),
        json!({"start_date": "2024-02-01"}),
    ] {
        let etag = app.etag(&path).await;
        app.patch_json(&path, &admin_token(), &etag, &change).await.assert_problem(409, "CONFLICT");
    }
    // What the amendment does not govern still changes directly.
    let etag = app.etag(&path).await;
    let answer = app
        .patch_json(
            &path,
            &admin_token(),
            &etag,
            &json!({"linked_schemes": [{"kind": "sdsf", "label": "SDSF Haute-Savoie 2022-2026"}]}),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let amendment = app
        .post_guarded(
            &format!("{path}/amendments"),
            &path,
            &admin_token(),
            &json!({
                "signed_on": "2025-06-01", "effective_on": "2025-07-01", "rationale": "Extension d'un an et ajout du logement",
                "changes": {"end_date": "2029-12-31", "fields": ["petite_enfance", "jeunesse", "parentalite", "acces_aux_droits", "logement"]}
            }),
        )
        .await
        .body;
    assert_eq!(amendment["number"], 1);
    assert_eq!(amendment["before"]["end_date"], "2028-12-31");
    assert_eq!(amendment["after"]["end_date"], "2029-12-31");
    let amended = app.get(&path, &admin_token()).await;
    assert_eq!(amended.body["end_date"], "2029-12-31");
    assert!(amended.body["fields"].as_array().unwrap().contains(&json!("logement")));

    let second = app
        .post_guarded(&format!("{path}/amendments"), &path, &admin_token(), &json!({"signed_on": "2026-01-10", "effective_on": "2026-02-01", "rationale": "Nouveau titre", "changes": {"title": "CTG du Faucigny"}}))
        .await
        .body;
    assert_eq!(second["number"], 2);
    let list = app.get(&format!("{path}/amendments"), &admin_token()).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

    // A CTG keeps its minimum content; an amendment must change something; a draft has none.
    let answer = app.post_guarded(&format!("{path}/amendments"), &path, &admin_token(), &json!({"signed_on": "2026-01-10", "effective_on": "2026-02-01", "rationale": "r", "changes": {"fields": ["logement"]}})).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/changes/fields");
    let answer = app
        .post_guarded(
            &format!("{path}/amendments"),
            &path,
            &admin_token(),
            &json!({"signed_on": "2026-01-10", "effective_on": "2026-02-01", "rationale": "r", "changes": {}}),
        )
        .await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    let draft = app.create("/v1/contracts", &json!({"kind": "ctg", "title": "Draft", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"})).await;
    let answer = app
        .post_guarded(&format!("/v1/contracts/{}/amendments", draft["id"].as_str().unwrap()), &format!("/v1/contracts/{}", draft["id"].as_str().unwrap()), &admin_token(), &json!({"signed_on": "2026-01-10", "effective_on": "2026-02-01", "rationale": "r", "changes": {"title": "x"}}))
        .await;
    answer.assert_problem(409, "CONFLICT");

    let history = app.get(&format!("{path}/history?page_size=200"), &admin_token()).await;
    let amended: Vec<&serde_json::Value> =
        history.body["items"].as_array().unwrap().iter().filter(|e| e["action"] == "amended").collect();
    assert_eq!(amended.len(), 2);
    assert!(amended[0]["reason"].as_str().unwrap().starts_with("amendment 1:"));
}

#[tokio::test]
async fn termination_needs_a_reason_and_a_date_inside_the_period() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    sign(&app, &contract).await;
    let answer = app
        .transition(
            &contract.id,
            &admin_token(),
            &json!({"action": "terminate", "reason": "fusion d'EPCI", "effective_on": "2030-01-01"}),
        )
        .await;
    assert_eq!(
        answer.assert_problem(409, "INVALID_STATE_TRANSITION")["errors"][0]["code"],
        "EFFECTIVE_ON_OUTSIDE_PERIOD"
    );
    let answer = app
        .transition(
            &contract.id,
            &admin_token(),
            &json!({"action": "terminate", "reason": "fusion d'EPCI", "effective_on": "2026-06-30"}),
        )
        .await;
    assert_eq!(
        (answer.status, answer.body["status"].as_str(), answer.body["ended_on"].as_str()),
        (200, Some("terminated"), Some("2026-06-30"))
    );
    // A terminated contract no longer changes.
    let path = format!("/v1/contracts/{}", contract.id);
    let etag = app.etag(&path).await;
    app.patch_json(&path, &admin_token(), &etag, &json!({"title": "x"})).await.assert_problem(409, "CONFLICT");
    // It was in force until its end.
    let listed = app.get("/v1/contracts?active_on=2026-06-30", &admin_token()).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let listed = app.get("/v1/contracts?active_on=2026-07-01", &admin_token()).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn changes_need_if_match_and_a_stale_one_is_refused() {
    let app = spawn_app().await;
    let contract = app.create("/v1/contracts", &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"})).await;
    let path = format!("/v1/contracts/{}", contract["id"].as_str().unwrap());
    let answer =
        app.send(app.client.patch(app.url(&path)).bearer_auth(admin_token()).json(&json!({"title": "x"}))).await;
    answer.assert_problem(428, "PRECONDITION_REQUIRED");
    let answer = app.patch_json(&path, &admin_token(), "\"7\"", &json!({"title": "x"})).await;
    answer.assert_problem(412, "PRECONDITION_FAILED");
    let answer = app.patch_json(&path, &admin_token(), "\"1\"", &json!({"title": "Nouveau"})).await;
    assert_eq!((answer.status, answer.header("etag")), (200, Some("\"2\"")));
    let answer = app.patch_json(&path, &admin_token(), "\"1\"", &json!({"title": "Encore"})).await;
    answer.assert_problem(412, "PRECONDITION_FAILED");
    let answer = app
        .send(
            app.client
                .post(app.url(&format!("{path}/transitions")))
                .bearer_auth(admin_token())
                .json(&json!({"action": "submit"})),
        )
        .await;
    answer.assert_problem(428, "PRECONDITION_REQUIRED");
}

#[tokio::test]
async fn of_two_concurrent_patches_with_the_same_if_match_exactly_one_wins() {
    let app = spawn_app().await;
    let contract = app.create("/v1/contracts", &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"})).await;
    let path = format!("/v1/contracts/{}", contract["id"].as_str().unwrap());
    for round in 0..5 {
        let etag = app.etag(&path).await;
        let (token, first_body, second_body) =
            (admin_token(), json!({"title": format!("A{round}")}), json!({"title": format!("B{round}")}));
        let first = app.patch_json(&path, &token, &etag, &first_body);
        let second = app.patch_json(&path, &token, &etag, &second_body);
        let (first, second) = tokio::join!(first, second);
        let mut statuses = [first.status, second.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}: {} / {}", first.text, second.text);
    }
    let history = app.get(&format!("{path}/history"), &admin_token()).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 6, "one creation and five winning updates");
}

#[tokio::test]
async fn of_fifty_concurrent_signatures_exactly_one_succeeds() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let submit = app.transition(&contract.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submit.status, 200);
    for party in [&contract.caf_party, &contract.epci_party] {
        let path = format!("/v1/contracts/{}/parties/{party}", contract.id);
        let etag = app.etag(&path).await;
        app.patch_json(
            &path,
            &admin_token(),
            &etag,
            &json!({"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "D"}),
        )
        .await;
    }
    let etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;
    let url = app.url(&format!("/v1/contracts/{}/transitions", contract.id));
    let attempts = (0..50).map(|_| {
        let request =
            app.client.post(&url).bearer_auth(admin_token()).header("If-Match", &etag).json(&json!({"action": "sign"}));
        app.send(request)
    });
    let answers = futures_util::future::join_all(attempts).await;
    let signed = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(signed, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(
        answers.iter().all(|a| a.status == 200 || a.status == 412),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let history = app.get(&format!("/v1/contracts/{}/history?page_size=200", contract.id), &admin_token()).await;
    let signatures =
        history.body["items"].as_array().unwrap().iter().filter(|e| e["after"]["status"] == "active").count();
    assert_eq!(signatures, 1);
}

#[tokio::test]
async fn a_caf_agent_creates_in_its_own_departement_only() {
    let app = spawn_app().await;
    let body = json!({"kind": "ctg", "title": "T", "start_date": "2024-01-01", "end_date": "2028-12-31"});
    let answer = app.post_json("/v1/contracts", &caf_agent_token(&["74"]), &body).await;
    assert_eq!(
        (answer.status, answer.body["department"].as_str()),
        (201, Some("74")),
        "a single département is the default"
    );
    let mut elsewhere = body.clone();
    elsewhere["department"] = json!("33");
    app.post_json("/v1/contracts", &caf_agent_token(&["74"]), &elsewhere).await.assert_problem(403, "FORBIDDEN");
    let answer = app.post_json("/v1/contracts", &caf_agent_token(&["74", "73"]), &body).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/department");
}

#[tokio::test]
async fn contract_bodies_are_checked_field_by_field() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/v1/contracts",
            &admin_token(),
            &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2023-12-31",
                    "perimeter": {"epcis": ["243300316", "200000173"], "communes": ["33063", "74042", "74042"]}}),
        )
        .await;
    assert_eq!(
        answer.validation_errors(),
        vec![
            ("/end_date", "DATE_BEFORE_START"),
            ("/perimeter/communes/0", "OUTSIDE_DEPARTMENT"),
            ("/perimeter/communes/2", "DUPLICATE"),
            ("/perimeter/epcis/0", "OUTSIDE_DEPARTMENT"),
            ("/perimeter/epcis/1", "UNKNOWN_EPCI"),
        ]
    );
    let answer = app.post_json("/v1/contracts", &admin_token(), &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31", "fields": ["sport"]})).await;
    assert_eq!(answer.assert_problem(400, "MALFORMED_REQUEST")["errors"][0]["pointer"], "/fields/0");
    let answer = app.post_json("/v1/contracts", &admin_token(), &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31", "status": "signed"})).await;
    answer.assert_problem(400, "READ_ONLY_FIELD");
    let answer = app.post_json("/v1/contracts", &admin_token(), &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31", "perimeter": {"epcis": [], "covered_communes": 3}})).await;
    assert_eq!(answer.assert_problem(400, "READ_ONLY_FIELD")["errors"][0]["pointer"], "/perimeter/covered_communes");
    let answer = app.post_json("/v1/contracts", &admin_token(), &json!({"kind": "ctg", "title": "T", "department": "975", "start_date": "2024-01-01", "end_date": "2028-12-31"})).await;
    answer.assert_problem(422, "VALIDATION_FAILED");
    let first = app.create("/v1/contracts", &json!({"kind": "cej", "reference": "CEJ-074-2019-FAUCIGNY", "title": "T", "department": "74", "start_date": "2019-01-01", "end_date": "2022-12-31"})).await;
    assert_eq!(first["reference"], "CEJ-074-2019-FAUCIGNY");
    let answer = app.post_json("/v1/contracts", &admin_token(), &json!({"kind": "cej", "reference": "CEJ-074-2019-FAUCIGNY", "title": "T", "department": "74", "start_date": "2019-01-01", "end_date": "2022-12-31"})).await;
    answer.assert_problem(409, "CONFLICT");
    // Another département's agent cannot probe 74's references: a reference carries its own
    // département, so the question is refused before anything is looked up.
    let gironde = caf_agent_token(&["33"]);
    for reference in ["CEJ-074-2019-FAUCIGNY", "CEJ-074-2019-NOTHING"] {
        let body = json!({"kind": "cej", "reference": reference, "title": "T", "start_date": "2019-01-01", "end_date": "2022-12-31"});
        let answer = app.post_json("/v1/contracts", &gironde, &body).await;
        assert_eq!(answer.validation_errors(), [("/reference", "REFERENCE_OUTSIDE_DEPARTMENT")], "{reference}");
    }
}

#[tokio::test]
async fn contracts_filter_by_status_commune_siren_and_order() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let signed = draft_ctg(&app, "74", &caf, &faucigny).await;
    sign(&app, &signed).await;
    let draft = app
        .create("/v1/contracts", &json!({"kind": "ctg", "title": "Bonneville seule", "department": "74", "start_date": "2025-01-01", "end_date": "2029-12-31", "perimeter": {"communes": ["74042"]}}))
        .await;
    let ids = |answer: &crate::helpers::Answer| -> Vec<String> {
        answer.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    let active = app.get("/v1/contracts?status=active", &admin_token()).await;
    assert_eq!(ids(&active), vec![signed.id.clone()]);
    let drafts = app.get("/v1/contracts?status=draft", &admin_token()).await;
    assert_eq!(ids(&drafts), vec![draft["id"].as_str().unwrap().to_owned()]);
    // Bonneville is covered by both: through the EPCI and by name.
    let bonneville = app.get("/v1/contracts?commune=74042", &admin_token()).await;
    assert_eq!(bonneville.body["items"].as_array().unwrap().len(), 2);
    let ayse = app.get("/v1/contracts?commune=74024", &admin_token()).await;
    assert_eq!(ids(&ayse), vec![signed.id.clone()]);
    let by_siren = app.get(&format!("/v1/contracts?siren={FAUCIGNY}"), &admin_token()).await;
    assert_eq!(ids(&by_siren), vec![signed.id.clone()]);
    let newest_first = app.get("/v1/contracts?order_by=-start_date", &admin_token()).await;
    assert_eq!(ids(&newest_first)[0], draft["id"].as_str().unwrap());
    let paged = app.get("/v1/contracts?order_by=-start_date&page_size=1", &admin_token()).await;
    let token = paged.body["next_page_token"].as_str().unwrap();
    let next =
        app.get(&format!("/v1/contracts?order_by=-start_date&page_size=1&page_token={token}"), &admin_token()).await;
    assert_eq!(ids(&next), vec![signed.id.clone()]);
    assert!(next.body["next_page_token"].is_null());
    app.get("/v1/contracts?order_by=colour", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/contracts?updated_since=yesterday", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
    let since = app.get("/v1/contracts?updated_since=2000-01-01T00:00:00Z", &admin_token()).await;
    assert_eq!(since.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_creation_retried_with_its_idempotency_key_creates_one_contract() {
    let app = spawn_app().await;
    let body = json!({"kind": "ctg", "title": "Retry", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"});
    let send = |body: &serde_json::Value| {
        app.send(
            app.client
                .post(app.url("/v1/contracts"))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", "create-1")
                .json(body),
        )
    };
    let first = send(&body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = send(&body).await;
    assert_eq!(
        (retry.status, &retry.body, retry.header("location"), retry.header("etag")),
        (201, &first.body, first.header("location"), first.header("etag"))
    );
    let mut other = body.clone();
    other["title"] = json!("Another");
    send(&other).await.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
    let listed = app.get("/v1/contracts", &admin_token()).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // A refused request leaves the key free for a corrected retry.
    let bad = json!({"kind": "ctg", "title": "Bad", "department": "74", "start_date": "2024-01-01", "end_date": "2020-01-01"});
    let refused = app
        .send(
            app.client
                .post(app.url("/v1/contracts"))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", "create-2")
                .json(&bad),
        )
        .await;
    refused.assert_problem(422, "VALIDATION_FAILED");
    let fixed = json!({"kind": "ctg", "title": "Bad", "department": "74", "start_date": "2024-01-01", "end_date": "2028-01-01"});
    let accepted = app
        .send(
            app.client
                .post(app.url("/v1/contracts"))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", "create-2")
                .json(&fixed),
        )
        .await;
    assert_eq!(accepted.status, 201, "{}", accepted.text);
}

#[tokio::test]
async fn a_far_away_manual_reference_does_not_move_the_generated_sequence() {
    let app = spawn_app().await;
    let body = json!({"kind": "ctg", "reference": "CTG-074-2024-4294967295", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"});
    app.create("/v1/contracts", &body).await;
    let generated = app.create("/v1/contracts", &json!({"kind": "ctg", "title": "T", "department": "74", "start_date": "2024-01-01", "end_date": "2028-12-31"})).await;
    assert_eq!(generated["reference"], "CTG-074-2024-0001");
}

#[tokio::test]
async fn the_contract_list_as_csv_has_the_same_scope_filters_and_figures_as_json() {
    let app = spawn_app().await;
    let caf74 = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let signed = draft_ctg(&app, "74", &caf74, &faucigny).await;
    sign(&app, &signed).await;
    app.create("/v1/contracts", &json!({"kind": "ctg", "title": "Bonneville; centre", "department": "74", "start_date": "2025-01-01", "end_date": "2029-12-31", "perimeter": {"communes": ["74042"]}})).await;
    app.create("/v1/contracts", &json!({"kind": "ctg", "title": "Bordeaux", "department": "33", "start_date": "2025-01-01", "end_date": "2029-12-31", "perimeter": {"communes": ["33063"]}})).await;

    let csv = |path: &str, token: String| {
        let request = app.client.get(app.url(path)).bearer_auth(token).header("accept", "text/csv");
        app.send(request)
    };
    let agent = csv("/v1/contracts", caf_agent_token(&["74"])).await;
    assert_eq!((agent.status, agent.header("content-type")), (200, Some("text/csv; charset=utf-8")), "{}", agent.text);
    let lines: Vec<&str> = agent.text.trim_end_matches("\r\n").split("\r\n").collect();
    assert!(lines[0].starts_with("\u{feff}id;reference;kind;status;title;department;"), "{}", lines[0]);
    assert_eq!(lines.len(), 3, "the header and the two contracts of 74: {}", agent.text);
    assert!(lines[2].contains(";\"Bonneville; centre\";74;"), "a field holding ';' is quoted: {}", lines[2]);

    let json = app.get(&format!("/v1/contracts/{}", signed.id), &admin_token()).await;
    let signed_line = lines.iter().find(|line| line.starts_with(&signed.id)).unwrap();
    let fields: Vec<&str> = signed_line.split(';').collect();
    let perimeter = &json.body["perimeter"];
    assert_eq!(fields[3], "active");
    assert_eq!(fields[10], "petite_enfance,jeunesse,parentalite,acces_aux_droits");
    assert_eq!((fields[11], fields[13], fields[14]), (FAUCIGNY, "1", "0"));
    assert_eq!(fields[15], perimeter["covered_communes"].to_string());
    assert_eq!(fields[16], perimeter["covered_population"].to_string());

    let active = csv("/v1/contracts?status=active", admin_token()).await;
    assert_eq!(active.text.trim_end_matches("\r\n").split("\r\n").count(), 2, "{}", active.text);
    let everything = csv("/v1/contracts?order_by=-reference", admin_token()).await;
    assert_eq!(everything.text.trim_end_matches("\r\n").split("\r\n").count(), 4);
    csv("/v1/contracts?page_size=10", admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
}

#[tokio::test]
async fn the_contract_csv_spans_several_queries_without_gaps_or_repeats() {
    let app = spawn_app().await;
    for n in 0..103 {
        app.create("/v1/contracts", &json!({"kind": "ctg", "title": format!("CTG {n}"), "department": "74", "start_date": "2025-01-01", "end_date": "2029-12-31", "perimeter": {"communes": ["74042"]}}))
            .await;
    }
    let request = app
        .client
        .get(app.url("/v1/contracts?order_by=-reference"))
        .bearer_auth(admin_token())
        .header("accept", "text/csv");
    let csv = app.send(request).await;
    let references: Vec<&str> =
        csv.text.trim_end_matches("\r\n").split("\r\n").skip(1).map(|line| line.split(';').nth(1).unwrap()).collect();
    assert_eq!(references.len(), 103, "two queries of 100 and 3");
    let mut expected = references.clone();
    expected.sort_unstable();
    expected.dedup();
    expected.reverse();
    assert_eq!(references, expected, "in the list's order, each once");
}

#[tokio::test]
async fn a_code_names_one_axis_and_one_action_per_contract() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    for (parts, body) in [
        ("axes", json!({"code": "A1", "title": "Petite enfance"})),
        ("actions", json!({"code": "F1", "title": "Crèche intercommunale"})),
    ] {
        let path = format!("/v1/contracts/{}/{parts}", contract.id);
        app.create(&path, &body).await;
        let again = app.post_json(&path, &admin_token(), &body).await;
        let detail = again.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().to_owned();
        assert!(detail.ends_with("already exists in this contract"), "{detail}");
        let other = app.create(&path, &json!({"code": "Z9", "title": "Autre"})).await;
        let other_path = format!("{path}/{}", other["id"].as_str().unwrap());
        let etag = app.etag(&other_path).await;
        let renamed = app.patch_json(&other_path, &admin_token(), &etag, &json!({"code": body["code"]})).await;
        renamed.assert_problem(409, "CONFLICT");
        let unchanged = app.patch_json(&other_path, &admin_token(), &etag, &json!({"title": "Encore"})).await;
        assert_eq!(unchanged.status, 200, "{}", unchanged.text);
    }
}

#[tokio::test]
async fn a_ctg_is_signed_by_a_collectivity_of_its_perimeter_and_only_collectivities_deliberate() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let path = format!("/v1/contracts/{}", contract.id);
    // The perimeter moves to Annecy's agglomeration: the Faucigny signs, but lies outside it.
    let etag = app.etag(&path).await;
    let moved = app.patch_json(&path, &admin_token(), &etag, &json!({"perimeter": {"epcis": [ANNECY_AGGLO]}})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let refused = app.transition(&contract.id, &admin_token(), &json!({"action": "submit"})).await;
    let codes: Vec<&str> = refused.assert_problem(409, "INVALID_STATE_TRANSITION")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["MISSING_PERIMETER_SIGNATORY"]);
    let etag = app.etag(&path).await;
    // Listed by its communes, the perimeter is still the Faucigny's: its EPCI may sign for it.
    let back =
        app.patch_json(&path, &admin_token(), &etag, &json!({"perimeter": {"communes": [BONNEVILLE_INSEE]}})).await;
    assert_eq!(back.status, 200, "{}", back.text);

    // An association co-signs without a délibération: only collectivities deliberate.
    let association = app
        .create(
            "/v1/organisations",
            &json!({"kind": "association", "name": "Familles rurales", "siren": "775672272", "department": "74"}),
        )
        .await;
    app.create(
        &format!("{path}/parties"),
        &json!({"organisation_id": association["id"], "roles": ["co_signatory"], "signed_on": "2024-02-01"}),
    )
    .await;
    sign(&app, &contract).await;
    assert_eq!(app.get(&path, &admin_token()).await.body["status"], "active");
}
