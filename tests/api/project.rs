//! The project of territory around a contract: its shared diagnostic (created then replaced whole
//! by PUT), its committees, and the diagnostic aid committed before the contract is signed. Rules
//! with their pointers, preconditions, roles, someone else's ids, history and feed.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::fixtures::{ANNECY_AGGLO, BORDEAUX_METROPOLE, ContractFixture, FAUCIGNY, caf, draft_ctg, epci};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

/// A draft CTG of the CAF of 74 over Faucigny, 2024 to 2028, the CAF and the EPCI its parties.
async fn contract(app: &TestApp) -> (ContractFixture, Value) {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    let contract = draft_ctg(app, "74", &caf, &faucigny).await;
    (contract, caf)
}

fn diagnostic_of(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}/diagnostic", contract.id)
}

fn meetings_of(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}/meetings", contract.id)
}

/// The diagnostic led by the CAF and the EPCI in 2023, before the contract.
fn diagnostic(caf: &Value, contract: &ContractFixture) -> Value {
    json!({
        "started_on": "2023-02-01", "completed_on": "2023-09-30",
        "led_by": [caf["id"], contract.epci_organisation],
        "fields": ["petite_enfance", "jeunesse"],
        "findings": [{"field": "petite_enfance", "text": "  Moins d'une place pour deux enfants  "}],
        "needs": ["Un relais petite enfance", "Un accueil jeunes"],
        "indicators": ["taux_couverture_eaje_epci"],
        "observations": "Taux de couverture 2022 : 48 %",
    })
}

async fn put(app: &TestApp, path: &str, token: &str, if_match: Option<&str>, body: &Value) -> Answer {
    let mut request = app.client.put(app.url(path)).bearer_auth(token).json(body);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    app.send(request).await
}

/// The (pointer, code) of every complaint of a 422.
fn complaints(answer: &Answer) -> BTreeSet<(String, String)> {
    answer.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| (error["pointer"].as_str().unwrap().to_owned(), error["code"].as_str().unwrap().to_owned()))
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(pointer, code)| ((*pointer).to_owned(), (*code).to_owned())).collect()
}

async fn history_resources(app: &TestApp, contract: &ContractFixture) -> Vec<(String, String)> {
    let history = app.get(&format!("/v1/contracts/{}/history", contract.id), &admin_token()).await;
    assert_eq!(history.status, 200, "{}", history.text);
    history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["resource"].as_str().unwrap().to_owned(), entry["action"].as_str().unwrap().to_owned()))
        .collect()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let feed = app.get("/v1/events?limit=1000", &admin_token()).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    feed.body["items"].as_array().unwrap().iter().map(|event| event["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_diagnostic_is_created_then_replaced_whole_under_if_match() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let path = diagnostic_of(&contract);
    app.get(&path, &admin_token()).await.assert_problem(404, "NOT_FOUND");
    // If-Match on a diagnostic that does not exist is false.
    put(&app, &path, &admin_token(), Some("\"1\""), &diagnostic(&caf, &contract))
        .await
        .assert_problem(412, "PRECONDITION_FAILED");
    let contract_etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;

    let created = put(&app, &path, &admin_token(), None, &diagnostic(&caf, &contract)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["contract_id"], contract.id.as_str());
    assert_eq!(
        created.body["findings"],
        json!([{"field": "petite_enfance", "text": "Moins d'une place pour deux enfants"}])
    );
    assert_eq!(created.body["led_by"], json!([caf["id"], contract.epci_organisation]));
    assert_eq!(created.body["needs"], json!(["Un relais petite enfance", "Un accueil jeunes"]));
    assert_ne!(
        app.etag(&format!("/v1/contracts/{}", contract.id)).await,
        contract_etag,
        "the contract's version moves"
    );
    let read = app.get(&path, &admin_token()).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, created.body, "the row is the view");

    // Once it exists, a PUT needs the ETag of its last read.
    let mut replacement = diagnostic(&caf, &contract);
    replacement["completed_on"] = Value::Null;
    replacement["fields"] = json!(["jeunesse", "parentalite", "petite_enfance"]);
    put(&app, &path, &admin_token(), None, &replacement).await.assert_problem(428, "PRECONDITION_REQUIRED");
    put(&app, &path, &admin_token(), Some("\"7\""), &replacement).await.assert_problem(412, "PRECONDITION_FAILED");
    let replaced = put(&app, &path, &admin_token(), Some("\"1\""), &replacement).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.header("etag"), Some("\"2\""));
    assert_eq!(replaced.body["completed_on"], Value::Null);
    assert_eq!(replaced.body["fields"], json!(["petite_enfance", "jeunesse", "parentalite"]), "in code order");
    assert_eq!(replaced.body["created_at"], created.body["created_at"]);

    // A CAF agent of the département writes it too; removing it needs its ETag.
    let agent = caf_agent_token(&["74"]);
    app.send(app.client.delete(app.url(&path)).bearer_auth(&agent)).await.assert_problem(428, "PRECONDITION_REQUIRED");
    assert_eq!(app.delete_with(&path, &agent, "\"2\"").await.status, 204);
    app.get(&path, &admin_token()).await.assert_problem(404, "NOT_FOUND");

    let history = history_resources(&app, &contract).await;
    for action in ["created", "updated", "deleted"] {
        assert!(history.contains(&("diagnostic".to_owned(), action.to_owned())), "{action}: {history:?}");
    }
    let events = event_types(&app).await;
    for kind in ["diagnostic.created", "diagnostic.updated", "diagnostic.deleted"] {
        assert!(events.iter().any(|event| event == kind), "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn a_diagnostic_breaking_every_rule_is_refused_with_every_pointer_and_nothing_stored() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    // Someone else's contract and its EPCI: an organisation, but no party of this contract.
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let elsewhere = draft_ctg(&app, "74", &caf, &annecy).await;
    let body = json!({
        "started_on": "2029-03-01", "completed_on": "2029-02-01",
        "led_by": [caf["id"], elsewhere.epci_organisation, caf["id"]],
        "fields": ["petite_enfance", "petite_enfance"],
        "findings": [{"field": "petite_enfance", "text": "Peu de places"}, {"field": "logement", "text": "Loyers élevés"}],
        "indicators": ["taux_couverture_eaje_epci", "no_such_indicator"],
    });
    let refused = put(&app, &diagnostic_of(&contract), &admin_token(), None, &body).await;
    assert_eq!(
        complaints(&refused),
        set(&[
            ("/started_on", "AFTER_CONTRACT"),
            ("/completed_on", "DATE_BEFORE_START"),
            ("/completed_on", "AFTER_CONTRACT"),
            ("/led_by/1", "NOT_A_PARTY"),
            ("/led_by/2", "DUPLICATE"),
            ("/fields/1", "DUPLICATE"),
            ("/findings/1/field", "FIELD_NOT_COVERED"),
            ("/indicators/1", "UNKNOWN_INDICATOR"),
        ])
    );
    app.get(&diagnostic_of(&contract), &admin_token()).await.assert_problem(404, "NOT_FOUND");

    // Shapes are checked before anything is read.
    let mut empty = diagnostic(&caf, &contract);
    empty["led_by"] = json!([]);
    empty["needs"] = json!([" "]);
    let refused = put(&app, &diagnostic_of(&contract), &admin_token(), None, &empty).await;
    assert_eq!(complaints(&refused), set(&[("/led_by", "LENGTH"), ("/needs", "LENGTH")]));
    // A field that is no field code is an unreadable body, as everywhere.
    let mut unknown = diagnostic(&caf, &contract);
    unknown["fields"] = json!(["astronomie"]);
    put(&app, &diagnostic_of(&contract), &admin_token(), None, &unknown).await.assert_problem(400, "MALFORMED_REQUEST");
    app.get(&diagnostic_of(&contract), &admin_token()).await.assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn collectivities_read_the_diagnostic_and_meetings_of_their_contract_and_write_none() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let path = diagnostic_of(&contract);
    assert_eq!(put(&app, &path, &admin_token(), None, &diagnostic(&caf, &contract)).await.status, 201);
    let meeting = app
        .create(&meetings_of(&contract), &json!({"kind": "copil", "held_on": "2025-06-12", "title": "COPIL 2025"}))
        .await;
    let meeting_path = format!("{}/{}", meetings_of(&contract), meeting["id"].as_str().unwrap());

    let faucigny = collectivity_token(&[FAUCIGNY]);
    assert_eq!(app.get(&path, &faucigny).await.status, 200);
    assert_eq!(app.get(&meeting_path, &faucigny).await.status, 200);
    put(&app, &path, &faucigny, Some("\"1\""), &diagnostic(&caf, &contract)).await.assert_problem(403, "FORBIDDEN");
    app.post_json(
        &meetings_of(&contract),
        &faucigny,
        &json!({"kind": "cotech", "held_on": "2025-06-12", "title": "T"}),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    app.delete_with(&meeting_path, &faucigny, "\"1\"").await.assert_problem(403, "FORBIDDEN");

    // Out of scope is exactly a missing id.
    for token in [collectivity_token(&[BORDEAUX_METROPOLE]), caf_agent_token(&["33"])] {
        app.get(&path, &token).await.assert_problem(404, "NOT_FOUND");
        app.get(&meeting_path, &token).await.assert_problem(404, "NOT_FOUND");
        put(&app, &path, &token, Some("\"1\""), &diagnostic(&caf, &contract)).await.assert_problem(404, "NOT_FOUND");
        app.patch_json(&meeting_path, &token, "\"1\"", &json!({"title": "X"})).await.assert_problem(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn meetings_are_recorded_changed_and_removed_under_if_match() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let body = json!({
        "kind": "copil", "held_on": "2025-06-12", "title": " COPIL annuel 2025 ",
        "present": [caf["id"], contract.epci_organisation],
        "decisions": ["Valider le plan d'actions 2025", "Lancer l'étude jeunesse"],
        "notes": "Quorum atteint",
    });
    let created = app.post_json(&meetings_of(&contract), &admin_token(), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", meetings_of(&contract));
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.body["title"], "COPIL annuel 2025");
    assert_eq!(created.body["kind"], "copil");
    assert_eq!(created.body["present"], json!([caf["id"], contract.epci_organisation]));
    let second = app
        .create(&meetings_of(&contract), &json!({"kind": "thematic", "held_on": "2024-11-05", "title": "Jeunesse"}))
        .await;
    assert_eq!(second["present"], json!([]));
    assert_eq!(second["decisions"], json!([]));

    let list = app.get(&meetings_of(&contract), &admin_token()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let dates: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|m| m["held_on"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2024-11-05", "2025-06-12"], "by date");
    let read = app.get(&path, &admin_token()).await;
    assert_eq!(read.body, created.body, "the row is the view");

    let change = json!({"kind": "cotech", "decisions": ["Reporter l'étude"], "notes": null});
    app.send(app.client.patch(app.url(&path)).bearer_auth(admin_token()).json(&change))
        .await
        .assert_problem(428, "PRECONDITION_REQUIRED");
    app.patch_json(&path, &admin_token(), "\"9\"", &change).await.assert_problem(412, "PRECONDITION_FAILED");
    let changed = app.patch_json(&path, &caf_agent_token(&["74"]), "\"1\"", &change).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["kind"], "cotech");
    assert_eq!(changed.body["decisions"], json!(["Reporter l'étude"]));
    assert_eq!(changed.body["notes"], Value::Null);
    assert_eq!(changed.body["present"], created.body["present"], "what is not sent stays");
    assert_eq!(changed.header("etag"), Some("\"2\""));

    app.delete_with(&path, &admin_token(), "\"1\"").await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(app.delete_with(&path, &admin_token(), "\"2\"").await.status, 204);
    app.get(&path, &admin_token()).await.assert_problem(404, "NOT_FOUND");

    let history = history_resources(&app, &contract).await;
    for action in ["created", "updated", "deleted"] {
        assert!(history.contains(&("meeting".to_owned(), action.to_owned())), "{action}: {history:?}");
    }
    let events = event_types(&app).await;
    for kind in ["meeting.created", "meeting.updated", "meeting.deleted"] {
        assert!(events.iter().any(|event| event == kind), "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn a_meeting_outside_the_period_or_among_strangers_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let elsewhere = draft_ctg(&app, "74", &caf, &annecy).await;
    let body = json!({
        "kind": "copil", "held_on": "2023-12-31", "title": "COPIL de lancement",
        "present": [caf["id"], elsewhere.epci_organisation, caf["id"]],
    });
    let refused = app.post_json(&meetings_of(&contract), &admin_token(), &body).await;
    assert_eq!(
        complaints(&refused),
        set(&[("/held_on", "OUTSIDE_CONTRACT_PERIOD"), ("/present/1", "NOT_A_PARTY"), ("/present/2", "DUPLICATE")])
    );
    let list = app.get(&meetings_of(&contract), &admin_token()).await;
    assert_eq!(list.body["items"], json!([]));
    let refused = app
        .post_json(
            &meetings_of(&contract),
            &admin_token(),
            &json!({"kind": "assemblee", "held_on": "2025-01-01", "title": "X"}),
        )
        .await;
    refused.assert_problem(400, "MALFORMED_REQUEST");

    // A change out of the period is refused the same way, and the meeting stays as it was.
    let meeting = app
        .create(&meetings_of(&contract), &json!({"kind": "cotech", "held_on": "2028-12-31", "title": "Dernier COTECH"}))
        .await;
    let path = format!("{}/{}", meetings_of(&contract), meeting["id"].as_str().unwrap());
    let refused = app.patch_json(&path, &admin_token(), "\"1\"", &json!({"held_on": "2029-01-01"})).await;
    assert_eq!(complaints(&refused), set(&[("/held_on", "OUTSIDE_CONTRACT_PERIOD")]));
    assert_eq!(app.get(&path, &admin_token()).await.body, meeting);

    // The meeting of another contract is not found under this one.
    let other = format!("{}/{}", meetings_of(&elsewhere), meeting["id"].as_str().unwrap());
    app.get(&other, &admin_token()).await.assert_problem(404, "NOT_FOUND");
    app.patch_json(&other, &admin_token(), "\"1\"", &json!({"title": "X"})).await.assert_problem(404, "NOT_FOUND");
    app.delete_with(&other, &admin_token(), "\"1\"").await.assert_problem(404, "NOT_FOUND");
}

/// A draft `aide_diagnostic` of `amount_cents` for 2024 to the contract's EPCI, made payee.
async fn diagnostic_aid(app: &TestApp, contract: &ContractFixture, programme: &str, amount_cents: i64) -> String {
    let party = format!("/v1/contracts/{}/parties/{}", contract.id, contract.epci_party);
    let etag = app.etag(&party).await;
    let _ = app.patch_json(&party, &admin_token(), &etag, &json!({"roles": ["signatory", "pilot", "payee"]})).await;
    let commitment = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "programme": programme, "basis": "lump_sum",
                    "origin": "new", "years": [{"year": 2024, "amount_cents": amount_cents}],
                    "decision_date": "2024-01-15"}),
        )
        .await;
    commitment["id"].as_str().unwrap().to_owned()
}

async fn commit(app: &TestApp, commitment: &str) -> Answer {
    let path = format!("/v1/funding-commitments/{commitment}");
    app.post_guarded(&format!("{path}/transitions"), &path, &admin_token(), &json!({"action": "commit"})).await
}

fn unmet(answer: &Answer) -> Vec<String> {
    answer.assert_problem(409, "INVALID_STATE_TRANSITION")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_diagnostic_aid_is_committed_and_paid_before_signature_up_to_the_ceiling() {
    let app = spawn_app().await;
    let (contract, _caf) = contract(&app).await;

    // Any other money waits for the signature.
    let coordination = diagnostic_aid(&app, &contract, "coordination", 100_000).await;
    assert_eq!(unmet(&commit(&app, &coordination).await), ["CONTRACT_NOT_SIGNED"]);
    // Over the ceiling (7 500 €), even by a cent, it waits too.
    let over = diagnostic_aid(&app, &contract, "aide_diagnostic", 750_001).await;
    assert_eq!(unmet(&commit(&app, &over).await), ["DIAGNOSTIC_AID_OVER_CEILING"]);

    let aid = diagnostic_aid(&app, &contract, "aide_diagnostic", 750_000).await;
    let committed = commit(&app, &aid).await;
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert_eq!(committed.body["status"], "committed");

    // A correction keeps it within the ceiling and a diagnostic aid while the contract is unsigned.
    let path = format!("/v1/funding-commitments/{aid}");
    let etag = app.etag(&path).await;
    let raised = json!({"years": [{"year": 2024, "amount_cents": 800_000}], "reason": "Avenant au devis"});
    assert_eq!(
        complaints(&app.patch_json(&path, &admin_token(), &etag, &raised).await),
        set(&[("/years", "DIAGNOSTIC_AID_OVER_CEILING")])
    );
    let renamed = json!({"programme": "coordination", "reason": "Erreur de dispositif"});
    assert_eq!(
        complaints(&app.patch_json(&path, &admin_token(), &etag, &renamed).await),
        set(&[("/programme", "CONTRACT_NOT_SIGNED")])
    );
    assert_eq!(app.get(&path, &admin_token()).await.body["programme"], "aide_diagnostic");

    // It is paid as any committed commitment.
    let generated = app.generate_schedule(&aid, &json!({})).await;
    assert_eq!(generated.status, 200, "{}", generated.text);
    let schedule = app.get(&format!("{path}/schedule"), &admin_token()).await;
    let line = &schedule.body["lines"].as_array().unwrap()[0];
    let payment = app
        .send(
            app.client
                .post(app.url(&format!("{path}/payments")))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"schedule_line_id": line["id"], "paid_on": "2024-03-05",
                              "amount_cents": line["amount_cents"], "reference": "MANDAT-2024-0001"})),
        )
        .await;
    assert_eq!(payment.status, 201, "{}", payment.text);
}

fn evaluations_of(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}/evaluations", contract.id)
}

/// An axis of `contract` and an action under it: their ids.
async fn plan(app: &TestApp, contract: &ContractFixture) -> (String, String) {
    let axis = app
        .create(
            &format!("/v1/contracts/{}/axes", contract.id),
            &json!({"code": "A1", "title": "Accueil du jeune enfant", "field": "petite_enfance"}),
        )
        .await;
    let action = app
        .create(
            &format!("/v1/contracts/{}/actions", contract.id),
            &json!({"axis_id": axis["id"], "code": "A1.1", "title": "Ouvrir une micro-crèche"}),
        )
        .await;
    (axis["id"].as_str().unwrap().to_owned(), action["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn evaluations_assess_the_contracts_axes_and_actions_with_one_final_evaluation() {
    let app = spawn_app().await;
    let (contract, _caf) = contract(&app).await;
    let (axis, action) = plan(&app, &contract).await;
    let review = json!({
        "kind": "yearly_review", "year": 2025, "held_on": "2026-02-10",
        "axes": [{"axis_id": axis, "assessment": "partly", "comment": "Deux micro-crèches sur trois"}],
        "actions": [{"action_id": action, "assessment": "achieved", "comment": null}],
        "summary": "Année de lancement",
    });
    let created = app.post_json(&evaluations_of(&contract), &admin_token(), &review).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("{}/{}", evaluations_of(&contract), created.body["id"].as_str().unwrap());
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.body["axes"], review["axes"]);
    assert_eq!(created.body["actions"], review["actions"]);
    assert_eq!(app.get(&path, &collectivity_token(&[FAUCIGNY])).await.body, created.body, "the row is the view");
    // One review a year.
    app.post_json(&evaluations_of(&contract), &admin_token(), &review).await.assert_problem(409, "CONFLICT");

    let closing = json!({"kind": "final", "held_on": "2029-03-01",
                      "actions": [{"action_id": action, "assessment": "abandoned", "comment": "Projet repris par la commune"}]});
    let final_evaluation = app.post_json(&evaluations_of(&contract), &caf_agent_token(&["74"]), &closing).await;
    assert_eq!(final_evaluation.status, 201, "{}", final_evaluation.text);
    assert_eq!(final_evaluation.body["year"], Value::Null);
    app.post_json(&evaluations_of(&contract), &admin_token(), &closing).await.assert_problem(409, "CONFLICT");

    // What an evaluation assesses stays in the plan while it does.
    let axis_path = format!("/v1/contracts/{}/axes/{axis}", contract.id);
    let action_path = format!("/v1/contracts/{}/actions/{action}", contract.id);
    let etag = app.etag(&action_path).await;
    app.delete_with(&action_path, &admin_token(), &etag).await.assert_problem(409, "CONFLICT");
    let etag = app.etag(&axis_path).await;
    app.delete_with(&axis_path, &admin_token(), &etag).await.assert_problem(409, "CONFLICT");

    let list = app.get(&evaluations_of(&contract), &admin_token()).await;
    let kinds: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["yearly_review", "final"], "by date");

    // A change keeps its kind; a list sent replaces the one recorded.
    app.patch_json(&path, &admin_token(), "\"1\"", &json!({"kind": "final"}))
        .await
        .assert_problem(400, "READ_ONLY_FIELD");
    let change = json!({"year": 2024, "axes": [], "summary": null});
    app.patch_json(&path, &admin_token(), "\"2\"", &change).await.assert_problem(412, "PRECONDITION_FAILED");
    let changed = app.patch_json(&path, &admin_token(), "\"1\"", &change).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["year"], 2024);
    assert_eq!(changed.body["axes"], json!([]));
    assert_eq!(changed.body["actions"], review["actions"]);
    app.patch_json(&path, &collectivity_token(&[FAUCIGNY]), "\"2\"", &json!({"summary": "X"}))
        .await
        .assert_problem(403, "FORBIDDEN");
    assert_eq!(app.delete_with(&path, &admin_token(), "\"2\"").await.status, 204);
    app.get(&path, &admin_token()).await.assert_problem(404, "NOT_FOUND");

    let history = history_resources(&app, &contract).await;
    for action in ["created", "updated", "deleted"] {
        assert!(history.contains(&("evaluation".to_owned(), action.to_owned())), "{action}: {history:?}");
    }
    let events = event_types(&app).await;
    for kind in ["evaluation.created", "evaluation.updated", "evaluation.deleted"] {
        assert!(events.iter().any(|event| event == kind), "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn an_evaluation_of_someone_elses_axes_or_outside_the_years_is_refused_with_every_pointer() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let (axis, action) = plan(&app, &contract).await;
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let elsewhere = draft_ctg(&app, "74", &caf, &annecy).await;
    let (their_axis, their_action) = plan(&app, &elsewhere).await;
    let body = json!({
        "kind": "yearly_review", "year": 2031, "held_on": "2023-06-01",
        "axes": [{"axis_id": axis, "assessment": "achieved"}, {"axis_id": their_axis, "assessment": "partly"},
                 {"axis_id": axis, "assessment": "not_achieved"}],
        "actions": [{"action_id": their_action, "assessment": "achieved"}, {"action_id": action, "assessment": "achieved"}],
    });
    let refused = app.post_json(&evaluations_of(&contract), &admin_token(), &body).await;
    assert_eq!(
        complaints(&refused),
        set(&[
            ("/year", "OUTSIDE_CONTRACT_PERIOD"),
            ("/held_on", "BEFORE_CONTRACT"),
            ("/axes/1/axis_id", "UNKNOWN_AXIS"),
            ("/axes/2/axis_id", "DUPLICATE"),
            ("/actions/0/action_id", "UNKNOWN_ACTION"),
        ])
    );
    // Someone else's axis reads exactly as an id that exists nowhere.
    let mut random = body.clone();
    random["axes"][1]["axis_id"] = json!(uuid::Uuid::new_v4());
    random["actions"][0]["action_id"] = json!(uuid::Uuid::new_v4());
    let answer = app.post_json(&evaluations_of(&contract), &admin_token(), &random).await;
    assert_eq!(complaints(&answer), complaints(&refused));
    assert_eq!(app.get(&evaluations_of(&contract), &admin_token()).await.body["items"], json!([]));

    let no_year = json!({"kind": "yearly_review", "held_on": "2025-06-01"});
    assert_eq!(
        complaints(&app.post_json(&evaluations_of(&contract), &admin_token(), &no_year).await),
        set(&[("/year", "REQUIRED")])
    );
    let final_with_year = json!({"kind": "final", "year": 2025, "held_on": "2028-06-01"});
    let refused = app.post_json(&evaluations_of(&contract), &admin_token(), &final_with_year).await;
    assert_eq!(complaints(&refused), set(&[("/year", "NOT_ALLOWED")]));
    let unknown = json!({"kind": "final", "held_on": "2028-06-01", "axes": [{"axis_id": axis, "assessment": "so_so"}]});
    app.post_json(&evaluations_of(&contract), &admin_token(), &unknown).await.assert_problem(400, "MALFORMED_REQUEST");
    assert_eq!(app.get(&evaluations_of(&contract), &admin_token()).await.body["items"], json!([]));
}

fn party_commitments_of(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}/party-commitments", contract.id)
}

#[tokio::test]
async fn each_party_records_what_it_commits_to_besides_money() {
    let app = spawn_app().await;
    let (contract, _caf) = contract(&app).await;
    let engineering = json!({"party_id": contract.caf_party, "field": "jeunesse",
                             "text": " Un conseiller territorial deux jours par mois ", "engineering_support": true});
    let created = app.post_json(&party_commitments_of(&contract), &admin_token(), &engineering).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("{}/{}", party_commitments_of(&contract), created.body["id"].as_str().unwrap());
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.body["text"], "Un conseiller territorial deux jours par mois");
    assert_eq!(created.body["engineering_support"], true);
    let own = app
        .create(
            &party_commitments_of(&contract),
            &json!({"party_id": contract.epci_party, "text": "Mettre à disposition une salle"}),
        )
        .await;
    assert_eq!(own["engineering_support"], false);
    assert_eq!(own["field"], Value::Null);
    let list = app.get(&party_commitments_of(&contract), &collectivity_token(&[FAUCIGNY])).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.get(&path, &admin_token()).await.body, created.body, "the row is the view");

    // A party with commitments stays until they are removed.
    let party = format!("/v1/contracts/{}/parties/{}", contract.id, contract.epci_party);
    let etag = app.etag(&party).await;
    app.delete_with(&party, &admin_token(), &etag).await.assert_problem(409, "CONFLICT");

    app.patch_json(&path, &admin_token(), "\"1\"", &json!({"party_id": contract.epci_party}))
        .await
        .assert_problem(400, "READ_ONLY_FIELD");
    let refused = app.patch_json(&path, &admin_token(), "\"1\"", &json!({"field": "logement"})).await;
    assert_eq!(complaints(&refused), set(&[("/field", "FIELD_NOT_IN_CONTRACT")]));
    app.patch_json(&path, &collectivity_token(&[FAUCIGNY]), "\"1\"", &json!({"text": "X"}))
        .await
        .assert_problem(403, "FORBIDDEN");
    let changed = app
        .patch_json(&path, &caf_agent_token(&["74"]), "\"1\"", &json!({"field": null, "engineering_support": false}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["field"], Value::Null);
    assert_eq!(changed.body["text"], created.body["text"]);
    app.delete_with(&path, &admin_token(), "\"1\"").await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(app.delete_with(&path, &admin_token(), "\"2\"").await.status, 204);

    let history = history_resources(&app, &contract).await;
    for action in ["created", "updated", "deleted"] {
        assert!(history.contains(&("party_commitment".to_owned(), action.to_owned())), "{action}: {history:?}");
    }
    let events = event_types(&app).await;
    for kind in ["party_commitment.created", "party_commitment.updated", "party_commitment.deleted"] {
        assert!(events.iter().any(|event| event == kind), "{kind}: {events:?}");
    }
}

#[tokio::test]
async fn a_commitment_of_someone_elses_party_is_refused_as_an_unknown_one() {
    let app = spawn_app().await;
    let (contract, caf) = contract(&app).await;
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let elsewhere = draft_ctg(&app, "74", &caf, &annecy).await;
    let theirs = json!({"party_id": elsewhere.epci_party, "field": "logement", "text": "Un local"});
    let refused = app.post_json(&party_commitments_of(&contract), &admin_token(), &theirs).await;
    assert_eq!(complaints(&refused), set(&[("/party_id", "UNKNOWN_PARTY"), ("/field", "FIELD_NOT_IN_CONTRACT")]));
    let mut random = theirs.clone();
    random["party_id"] = json!(uuid::Uuid::new_v4());
    assert_eq!(
        complaints(&app.post_json(&party_commitments_of(&contract), &admin_token(), &random).await),
        complaints(&refused)
    );
    // An organisation's id is not its party's.
    let organisation = json!({"party_id": contract.epci_organisation, "text": "Un local"});
    let refused = app.post_json(&party_commitments_of(&contract), &admin_token(), &organisation).await;
    assert_eq!(complaints(&refused), set(&[("/party_id", "UNKNOWN_PARTY")]));
    let empty = json!({"party_id": contract.epci_party, "text": ""});
    assert_eq!(
        complaints(&app.post_json(&party_commitments_of(&contract), &admin_token(), &empty).await),
        set(&[("/text", "LENGTH")])
    );
    assert_eq!(app.get(&party_commitments_of(&contract), &admin_token()).await.body["items"], json!([]));
    for token in [collectivity_token(&[BORDEAUX_METROPOLE]), caf_agent_token(&["33"])] {
        app.get(&party_commitments_of(&contract), &token).await.assert_problem(404, "NOT_FOUND");
        let body = json!({"party_id": contract.epci_party, "text": "Un local"});
        app.post_json(&party_commitments_of(&contract), &token, &body).await.assert_problem(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn a_party_named_in_a_meeting_stays_until_the_meeting_no_longer_names_it() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let association = app
        .create(
            "/v1/organisations",
            &json!({"kind": "association", "name": "Familles rurales", "siren": "775672272", "department": "74"}),
        )
        .await;
    let party = app
        .create(
            &format!("/v1/contracts/{}/parties", contract.id),
            &json!({"organisation_id": association["id"], "roles": ["associated_partner"]}),
        )
        .await;
    let meeting = app
        .create(
            &meetings_of(&contract),
            &json!({"kind": "cotech", "held_on": "2024-05-02", "title": "COTECH", "present": [association["id"]]}),
        )
        .await;
    let party_path = format!("/v1/contracts/{}/parties/{}", contract.id, party["id"].as_str().unwrap());
    let etag = app.etag(&party_path).await;
    let refused = app.delete_with(&party_path, &admin_token(), &etag).await;
    let detail = refused.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("1 meeting"), "{detail}");
    let meeting_path = format!("{}/{}", meetings_of(&contract), meeting["id"].as_str().unwrap());
    let meeting_etag = app.etag(&meeting_path).await;
    assert_eq!(app.delete_with(&meeting_path, &admin_token(), &meeting_etag).await.status, 204);
    assert_eq!(app.delete_with(&party_path, &admin_token(), &etag).await.status, 204);
}
