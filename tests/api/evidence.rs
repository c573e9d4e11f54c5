//! A year of a commitment from forecast to balance, to the cent: advances computed from the
//! forecast, evidence received by the collectivity managing the facility and validated by the
//! CAF, the actual entitlement that settles the year, the balance (or the recovery) that follows.

use serde_json::{Value, json};

use crate::fixtures::{ANNECY_AGGLO, BONNEVILLE_INSEE, ContractFixture, FAUCIGNY};
use crate::funding::signed_contract;
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

/// A crèche of 40 places run by the contract's EPCI (Faucigny).
async fn creche(app: &TestApp, contract: &ContractFixture) -> String {
    let equipment = app
        .create(
            "/v1/equipments",
            &json!({"type": "eaje", "name": "Multi-accueil Les Lutins", "manager_id": contract.epci_organisation,
                    "commune": BONNEVILLE_INSEE, "capacity_places": 40}),
        )
        .await;
    equipment["id"].as_str().unwrap().to_owned()
}

/// A draft bonus territoire EAJE of `amount_cents` for 2025, carried from a CEJ, for 10 places
/// of `equipment`: the commitment's path.
async fn draft_bonus(app: &TestApp, contract: &ContractFixture, equipment: &str, amount_cents: i64) -> String {
    let commitment = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "equipment_id": equipment,
                    "programme": "bonus_territoire_eaje", "basis": "per_place", "origin": "ex_cej",
                    "units": 10, "years": [{"year": 2025, "amount_cents": amount_cents}],
                    "decision_date": "2024-12-01"}),
        )
        .await;
    format!("/v1/funding-commitments/{}", commitment["id"].as_str().unwrap())
}

async fn commit(app: &TestApp, commitment: &str) {
    let answer = app
        .post_guarded(&format!("{commitment}/transitions"), commitment, &admin_token(), &json!({"action": "commit"}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

async fn generate(app: &TestApp, commitment: &str) {
    let answer =
        app.post_guarded(&format!("{commitment}/schedule/generate"), commitment, &admin_token(), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// Records the entitlements of 2025 as `token`, with the commitment's current ETag.
async fn entitle(app: &TestApp, commitment: &str, token: &str, body: &Value) -> Answer {
    let etag = app.etag(commitment).await;
    app.patch_json(&format!("{commitment}/years/2025"), token, &etag, body).await
}

async fn schedule(app: &TestApp, commitment: &str) -> Value {
    let answer = app.get(&format!("{commitment}/schedule"), &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

/// The live lines of 2025: `(kind, amount, paid, status)`, by due date as listed.
fn lines(schedule: &Value) -> Vec<(String, i64, i64, String)> {
    schedule["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["year"] == 2025 && line["status"] != "cancelled")
        .map(|line| {
            (
                line["kind"].as_str().unwrap().to_owned(),
                line["amount_cents"].as_i64().unwrap(),
                line["paid_cents"].as_i64().unwrap(),
                line["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn line_id(schedule: &Value, kind: &str, due_on: Option<&str>) -> String {
    schedule["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| {
            line["kind"] == kind && line["status"] != "cancelled" && due_on.is_none_or(|due| line["due_on"] == due)
        })
        .unwrap_or_else(|| panic!("no live {kind} line: {schedule}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pay(app: &TestApp, commitment: &str, line: &str, amount_cents: i64, reason: Option<&str>) -> Answer {
    let mut body = json!({"schedule_line_id": line, "paid_on": "2026-06-15", "amount_cents": amount_cents,
                          "reference": format!("MANDAT-{}", uuid::Uuid::new_v4())});
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    app.send(
        app.client
            .post(app.url(&format!("{commitment}/payments")))
            .bearer_auth(admin_token())
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body),
    )
    .await
}

async fn record_evidence(app: &TestApp, commitment: &str, token: &str, kind: &str) -> Answer {
    app.post_json(
        &format!("{commitment}/evidence"),
        token,
        &json!({"year": 2025, "kind": kind, "received_on": "2026-03-15", "note": "Envoyé par courriel"}),
    )
    .await
}

async fn validate(app: &TestApp, evidence: &str, token: &str) -> Answer {
    let etag = app.etag(evidence).await;
    app.patch_json(evidence, token, &etag, &json!({"validated_on": "2026-04-02"})).await
}

/// `(code, detail)` of each error of a problem.
fn errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap().to_owned()))
        .collect()
}

fn kinds_in(problem: &Value) -> Vec<String> {
    errors(problem).into_iter().map(|(_, detail)| detail.split(':').next().unwrap().to_owned()).collect()
}

fn integration_token() -> String {
    let mut claims = claims("integration");
    claims.departments = vec!["74".into()];
    token_for(&claims)
}

const EAJE_KINDS: [&str; 3] = ["activity_report", "financial_statement", "attendance_data"];

#[tokio::test]
async fn a_year_runs_from_forecast_to_balance_to_the_cent() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let equipment = creche(&app, &contract).await;
    // 10,000.00 € committed for 2025; the manager forecasts 9,000.00 €, recorded on the draft.
    let commitment = draft_bonus(&app, &contract, &equipment, 1_000_000).await;
    let above = entitle(&app, &commitment, &admin_token(), &json!({"forecast_cents": 1_000_001})).await;
    assert_eq!(above.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/forecast_cents");
    assert_eq!(above.body["errors"][0]["code"], "ABOVE_COMMITTED");
    let forecast = entitle(&app, &commitment, &admin_token(), &json!({"forecast_cents": 900_000})).await;
    assert_eq!(forecast.status, 200, "{}", forecast.text);
    assert_eq!(
        forecast.body["years"],
        json!([{"year": 2025, "amount_cents": 1_000_000, "forecast_cents": 900_000, "actual_cents": null,
                "missing_evidence": EAJE_KINDS}])
    );
    assert_eq!(forecast.header("etag"), Some(format!("\"{}\"", forecast.body["version"]).as_str()));
    // An actual entitlement waits for the commitment.
    let early = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 100})).await;
    early.assert_problem(409, "CONFLICT");
    commit(&app, &commitment).await;
    generate(&app, &commitment).await;

    // Advances are 70% of the forecast: 6,300.00 € in two halves; the balance 2,700.00 €.
    let planned = schedule(&app, &commitment).await;
    let amounts: Vec<(String, i64)> = lines(&planned).into_iter().map(|(kind, amount, ..)| (kind, amount)).collect();
    assert_eq!(amounts, [("advance".into(), 315_000), ("advance".into(), 315_000), ("balance".into(), 270_000)]);
    let first = line_id(&planned, "advance", Some("2025-03-01"));
    assert_eq!(pay(&app, &commitment, &first, 315_000, None).await.status, 201);

    // A lower forecast (8,000.00 €) replans what is not paid: the advances still total 70% of it,
    // 5,600.00 €, so the second takes the 2,450.00 € the first did not, and the balance what is
    // left, 2,400.00 €.
    let lower = entitle(&app, &commitment, &admin_token(), &json!({"forecast_cents": 800_000})).await;
    assert_eq!(lower.status, 200, "{}", lower.text);
    let replanned = schedule(&app, &commitment).await;
    let amounts: Vec<(String, i64, i64)> =
        lines(&replanned).into_iter().map(|(kind, amount, paid, _)| (kind, amount, paid)).collect();
    assert_eq!(
        amounts,
        [("advance".into(), 315_000, 315_000), ("advance".into(), 245_000, 0), ("balance".into(), 240_000, 0)]
    );
    let second = line_id(&replanned, "advance", Some("2025-10-01"));
    assert_eq!(pay(&app, &commitment, &second, 245_000, None).await.status, 201);

    // The actual entitlement waits for every kind of evidence the programme requires, received.
    let etag = app.etag(&commitment).await;
    let refused = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 750_000})).await;
    refused.assert_problem(409, "CONFLICT");
    assert_eq!(kinds_in(&refused.body), EAJE_KINDS);
    assert!(errors(&refused.body).iter().all(|(code, _)| code == "EVIDENCE_NOT_RECEIVED"));
    assert_eq!(app.etag(&commitment).await, etag, "a refusal writes nothing");

    // The collectivity running the crèche sends its evidence; the CAF validates it later.
    let manager = collectivity_token(&[FAUCIGNY]);
    let mut evidence = Vec::new();
    for kind in EAJE_KINDS {
        let answer = record_evidence(&app, &commitment, &manager, kind).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.body["validated_on"], Value::Null);
        evidence.push(answer.header("location").unwrap().to_owned());
    }
    let listed = app.get(&format!("{commitment}/evidence"), &manager).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3, "{}", listed.text);

    // 7,500.00 €: the balance is actual − advances paid = 7,500.00 − 5,600.00 = 1,900.00 €, on the
    // same balance line.
    let balance_before = line_id(&replanned, "balance", None);
    let actual = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 750_000})).await;
    assert_eq!(actual.status, 200, "{}", actual.text);
    assert_eq!(actual.body["years"][0]["actual_cents"], 750_000);
    let settled = schedule(&app, &commitment).await;
    let amounts: Vec<(String, i64, i64)> =
        lines(&settled).into_iter().map(|(kind, amount, paid, _)| (kind, amount, paid)).collect();
    assert_eq!(
        amounts,
        [("advance".into(), 315_000, 315_000), ("advance".into(), 245_000, 245_000), ("balance".into(), 190_000, 0)]
    );
    assert_eq!(line_id(&settled, "balance", None), balance_before);
    let balance = balance_before;

    // The balance waits for the evidence validated: each missing kind is listed.
    let refused = pay(&app, &commitment, &balance, 190_000, None).await;
    refused.assert_problem(409, "CONFLICT");
    assert_eq!(kinds_in(&refused.body), EAJE_KINDS);
    assert!(errors(&refused.body).iter().all(|(code, _)| code == "EVIDENCE_NOT_VALIDATED"));
    let agent = caf_agent_token(&["74"]);
    for piece in &evidence[..2] {
        let answer = validate(&app, piece, &agent).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["validated_by"], claims("caf_agent").sub);
    }
    let refused = pay(&app, &commitment, &balance, 190_000, None).await;
    assert_eq!(kinds_in(refused.assert_problem(409, "CONFLICT")), ["attendance_data"]);
    // The commitment says what its years still wait for, alone and in its contract's list.
    let view = app.get(&commitment, &manager).await;
    assert_eq!(view.body["years"][0]["missing_evidence"], json!(["attendance_data"]));
    let listed = app.get(&format!("/v1/contracts/{}/funding-commitments", contract.id), &manager).await;
    assert_eq!(listed.body["items"][0]["years"][0]["missing_evidence"], json!(["attendance_data"]));
    assert_eq!(schedule(&app, &commitment).await, settled, "a refused payment pays nothing");
    assert_eq!(validate(&app, &evidence[2], &agent).await.status, 200);
    let paid = pay(&app, &commitment, &balance, 190_000, None).await;
    assert_eq!(paid.status, 201, "{}", paid.text);
    assert_eq!(app.get(&commitment, &admin_token()).await.body["years"][0]["missing_evidence"], json!([]));

    let done = schedule(&app, &commitment).await;
    assert!(lines(&done).iter().all(|(.., status)| status == "paid"), "{done}");
    assert_eq!(
        done["years"],
        json!([{"year": 2025, "committed_cents": 1_000_000, "scheduled_cents": 750_000, "paid_cents": 750_000, "remaining_cents": 250_000}])
    );
    // The history says who did what to the evidence.
    let history = app.get(&format!("/v1/contracts/{}/history", contract.id), &admin_token()).await;
    let evidence_entries =
        history.body["items"].as_array().unwrap().iter().filter(|entry| entry["resource"] == "evidence").count();
    assert_eq!(evidence_entries, 6, "3 recorded, 3 validated");
}

#[tokio::test]
async fn an_actual_below_the_advances_paid_becomes_a_recovery() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let equipment = creche(&app, &contract).await;
    // 13,000.00 € committed, no forecast: advances of 4,550.00 € each, both paid (9,100.00 €).
    let commitment = draft_bonus(&app, &contract, &equipment, 1_300_000).await;
    commit(&app, &commitment).await;
    generate(&app, &commitment).await;
    let planned = schedule(&app, &commitment).await;
    for due_on in ["2025-03-01", "2025-10-01"] {
        let line = line_id(&planned, "advance", Some(due_on));
        assert_eq!(pay(&app, &commitment, &line, 455_000, None).await.status, 201);
    }
    for kind in EAJE_KINDS {
        assert_eq!(record_evidence(&app, &commitment, &admin_token(), kind).await.status, 201);
    }
    // The actual entitlement is 8,000.00 €: 1,100.00 € was paid too much.
    let actual = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 800_000})).await;
    assert_eq!(actual.status, 200, "{}", actual.text);
    let settled = schedule(&app, &commitment).await;
    let recovery =
        settled["lines"].as_array().unwrap().iter().find(|line| line["kind"] == "adjustment").unwrap().clone();
    assert_eq!(recovery["amount_cents"], -110_000);
    assert_eq!(recovery["reason"], "recovery: actual entitlement of 8,000.00 € below the 9,100.00 € already paid");
    let statuses: Vec<(String, String)> = settled["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| (line["kind"].as_str().unwrap().to_owned(), line["status"].as_str().unwrap().to_owned()))
        .collect();
    assert!(statuses.contains(&("balance".into(), "cancelled".into())), "{statuses:?}");
    assert_eq!(lines(&settled).iter().map(|line| line.1).sum::<i64>(), 800_000, "the live lines add up to the actual");

    // A recovery needs no validated evidence; it needs its reason.
    let recovery_id = recovery["id"].as_str().unwrap();
    pay(&app, &commitment, recovery_id, -110_000, None).await.assert_problem(422, "VALIDATION_FAILED");
    let recovered = pay(&app, &commitment, recovery_id, -110_000, Some("titre de recette 2026-041")).await;
    assert_eq!(recovered.status, 201, "{}", recovered.text);
    let done = schedule(&app, &commitment).await;
    assert_eq!(done["years"][0]["paid_cents"], 800_000);
    assert!(lines(&done).iter().all(|(.., status)| status == "paid"), "{done}");

    // Settling again with the same figures, or generating the schedule again, changes nothing;
    // the commitment cannot then fall below its actual entitlement.
    let again = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 800_000})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(schedule(&app, &commitment).await["lines"], done["lines"]);
    generate(&app, &commitment).await;
    assert_eq!(schedule(&app, &commitment).await["lines"], done["lines"]);
    let etag = app.etag(&commitment).await;
    let lower = app
        .patch_json(
            &commitment,
            &admin_token(),
            &etag,
            &json!({"years": [{"year": 2025, "amount_cents": 799_999}], "reason": "erreur"}),
        )
        .await;
    let codes: Vec<String> =
        errors(lower.assert_problem(422, "VALIDATION_FAILED")).into_iter().map(|(code, _)| code).collect();
    assert_eq!(codes, ["BELOW_PAID", "BELOW_ENTITLEMENT"]);
    // Nor drop a year that holds evidence.
    let moved = app
        .patch_json(
            &commitment,
            &admin_token(),
            &etag,
            &json!({"years": [{"year": 2026, "amount_cents": 800_000}], "reason": "erreur d'année"}),
        )
        .await;
    let codes: Vec<String> =
        errors(moved.assert_problem(422, "VALIDATION_FAILED")).into_iter().map(|(code, _)| code).collect();
    assert_eq!(codes, ["BELOW_PAID", "YEAR_HAS_EVIDENCE"]);
    assert_eq!(app.etag(&commitment).await, etag, "nothing written");
}

#[tokio::test]
async fn the_collectivity_managing_the_facility_records_evidence_and_only_the_caf_validates() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let equipment = creche(&app, &contract).await;
    let commitment = draft_bonus(&app, &contract, &equipment, 1_000_000).await;
    let manager = collectivity_token(&[FAUCIGNY]);
    let evidence = format!("{commitment}/evidence");

    // The manager records; it may not validate, not even at creation.
    let mut body =
        json!({"year": 2025, "kind": "activity_report", "received_on": "2026-03-15", "validated_on": "2026-03-20"});
    app.post_json(&evidence, &manager, &body).await.assert_problem(403, "FORBIDDEN");
    body.as_object_mut().unwrap().remove("validated_on");
    let created = app.post_json(&evidence, &manager, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let piece = created.header("location").unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    app.patch_json(&piece, &manager, &etag, &json!({"validated_on": "2026-03-20"}))
        .await
        .assert_problem(403, "FORBIDDEN");
    let corrected =
        app.patch_json(&piece, &manager, &etag, &json!({"received_on": "2026-03-14", "note": "Version signée"})).await;
    assert_eq!(corrected.status, 200, "{}", corrected.text);
    assert_eq!(corrected.body["received_on"], "2026-03-14");

    // Nobody else writes it: an integration, a collectivity that is no party (404), the CAF of
    // another département (404); nobody but the CAF records entitlements.
    let etag = corrected.header("etag").unwrap().to_owned();
    for token in [integration_token()] {
        app.post_json(&evidence, &token, &body).await.assert_problem(403, "FORBIDDEN");
        app.patch_json(&piece, &token, &etag, &json!({"note": "x"})).await.assert_problem(403, "FORBIDDEN");
    }
    for token in [collectivity_token(&[ANNECY_AGGLO]), caf_agent_token(&["33"])] {
        app.post_json(&evidence, &token, &body).await.assert_problem(404, "NOT_FOUND");
        app.get(&piece, &token).await.assert_problem(404, "NOT_FOUND");
    }
    entitle(&app, &commitment, &manager, &json!({"forecast_cents": 1})).await.assert_problem(403, "FORBIDDEN");

    // Once validated, the piece is the CAF's: the manager neither changes nor deletes it, and
    // nobody deletes it until the validation is withdrawn.
    let validated = validate(&app, &piece, &admin_token()).await;
    assert_eq!(validated.status, 200, "{}", validated.text);
    assert_eq!(validated.body["validated_by"], claims("admin").sub);
    let etag = validated.header("etag").unwrap().to_owned();
    app.patch_json(&piece, &manager, &etag, &json!({"note": "x"})).await.assert_problem(403, "FORBIDDEN");
    app.delete_with(&piece, &manager, &etag).await.assert_problem(403, "FORBIDDEN");
    app.delete_with(&piece, &admin_token(), &etag).await.assert_problem(409, "CONFLICT");
    let withdrawn = app.patch_json(&piece, &admin_token(), &etag, &json!({"validated_on": null})).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(
        (withdrawn.body["validated_on"].clone(), withdrawn.body["validated_by"].clone()),
        (Value::Null, Value::Null)
    );
    let etag = withdrawn.header("etag").unwrap().to_owned();
    assert_eq!(app.delete_with(&piece, &manager, &etag).await.status, 204);
    app.get(&piece, &admin_token()).await.assert_problem(404, "NOT_FOUND");

    // A commitment naming no facility has no managing collectivity: the party may read its
    // evidence, not record it.
    let lump = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "programme": "coordination", "basis": "lump_sum",
                    "origin": "new", "years": [{"year": 2025, "amount_cents": 500_000}]}),
        )
        .await;
    let lump_evidence = format!("/v1/funding-commitments/{}/evidence", lump["id"].as_str().unwrap());
    app.post_json(&lump_evidence, &manager, &body).await.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get(&lump_evidence, &manager).await.status, 200);
}

#[tokio::test]
async fn entitlements_and_evidence_say_what_is_wrong_and_write_nothing() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let equipment = creche(&app, &contract).await;
    let commitment = draft_bonus(&app, &contract, &equipment, 1_000_000).await;
    let etag = app.etag(&commitment).await;
    let year = format!("{commitment}/years/2025");

    // The year must be one of the commitment's; If-Match is required and current.
    app.patch_json(&format!("{commitment}/years/2026"), &admin_token(), &etag, &json!({"forecast_cents": 1}))
        .await
        .assert_problem(404, "NOT_FOUND");
    let no_precondition =
        app.send(app.client.patch(app.url(&year)).bearer_auth(admin_token()).json(&json!({"forecast_cents": 1}))).await;
    no_precondition.assert_problem(428, "PRECONDITION_REQUIRED");
    app.patch_json(&year, &admin_token(), "\"999\"", &json!({"forecast_cents": 1}))
        .await
        .assert_problem(412, "PRECONDITION_FAILED");
    app.patch_json(&year, &admin_token(), &etag, &json!({})).await.assert_problem(422, "VALIDATION_FAILED");
    app.patch_json(&year, &admin_token(), &etag, &json!({"forecast_cents": -1}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    app.patch_json(&year, &admin_token(), &etag, &json!({"year": 2026})).await.assert_problem(400, "READ_ONLY_FIELD");
    let both =
        app.patch_json(&year, &admin_token(), &etag, &json!({"forecast_cents": 1_000_001, "actual_cents": null})).await;
    assert_eq!(both.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "ABOVE_COMMITTED");
    assert_eq!(app.etag(&commitment).await, etag, "nothing written");

    // Evidence: one of the commitment's years, valid dates, a short note, no server-owned field.
    let evidence = format!("{commitment}/evidence");
    let answer = app
        .post_json(
            &evidence,
            &admin_token(),
            &json!({"year": 2026, "kind": "other", "received_on": "2026-03-01", "validated_on": "2026-02-01"}),
        )
        .await;
    let codes: Vec<(String, String)> = answer.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pointer"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        codes,
        [("/validated_on".into(), "VALIDATED_BEFORE_RECEIVED".into()), ("/year".into(), "YEAR_NOT_COMMITTED".into())]
    );
    app.post_json(
        &evidence,
        &admin_token(),
        &json!({"year": 2025, "kind": "other", "received_on": "2026-03-01", "validated_by": "me"}),
    )
    .await
    .assert_problem(400, "READ_ONLY_FIELD");
    app.post_json(
        &evidence,
        &admin_token(),
        &json!({"year": 2025, "kind": "other", "received_on": "2026-03-01", "note": "x".repeat(2001)}),
    )
    .await
    .assert_problem(422, "VALIDATION_FAILED");
    app.post_json(&evidence, &admin_token(), &json!({"year": 2025, "kind": "receipt", "received_on": "2026-03-01"}))
        .await
        .assert_problem(400, "MALFORMED_REQUEST");
    assert_eq!(app.get(&evidence, &admin_token()).await.body["items"], json!([]));

    // The forecast never falls below what is already paid, until the actual settles the year.
    commit(&app, &commitment).await;
    generate(&app, &commitment).await;
    let first = line_id(&schedule(&app, &commitment).await, "advance", Some("2025-03-01"));
    assert_eq!(pay(&app, &commitment, &first, 350_000, None).await.status, 201);
    let below = entitle(&app, &commitment, &admin_token(), &json!({"forecast_cents": 349_999})).await;
    assert_eq!(below.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "BELOW_PAID");

    // A closed commitment takes no more entitlement nor evidence.
    let closed = app
        .post_guarded(&format!("{commitment}/transitions"), &commitment, &admin_token(), &json!({"action": "close"}))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    entitle(&app, &commitment, &admin_token(), &json!({"forecast_cents": 500_000}))
        .await
        .assert_problem(409, "CONFLICT");
    app.post_json(&evidence, &admin_token(), &json!({"year": 2025, "kind": "other", "received_on": "2026-03-01"}))
        .await
        .assert_problem(409, "CONFLICT");
}

#[tokio::test]
async fn the_kinds_a_programme_requires_are_data_kept_by_admins() {
    let app = spawn_app().await;
    let listed = app.get("/v1/evidence-requirements", &collectivity_token(&[FAUCIGNY])).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap();
    let eaje = items.iter().find(|item| item["programme"] == "bonus_territoire_eaje").unwrap();
    assert_eq!(eaje["kinds"], json!(EAJE_KINDS));
    assert_eq!(items.len(), 13, "every programme");

    let path = "/v1/evidence-requirements/coordination";
    let put = |token: String, body: Value| {
        let app = &app;
        async move { app.send(app.client.put(app.url(path)).bearer_auth(token).json(&body)).await }
    };
    put(caf_agent_token(&["74"]), json!({"kinds": []})).await.assert_problem(403, "FORBIDDEN");
    let duplicate = put(admin_token(), json!({"kinds": ["other", "other"]})).await;
    assert_eq!(duplicate.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/kinds/1");
    let unknown = app
        .send(
            app.client
                .put(app.url("/v1/evidence-requirements/nothing"))
                .bearer_auth(admin_token())
                .json(&json!({"kinds": []})),
        )
        .await;
    unknown.assert_problem(404, "NOT_FOUND");
    let replaced = put(admin_token(), json!({"kinds": ["attendance_data", "activity_report"]})).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body, json!({"programme": "coordination", "kinds": ["activity_report", "attendance_data"]}));

    // A programme that requires nothing lets the actual entitlement and the balance through.
    assert_eq!(put(admin_token(), json!({"kinds": []})).await.status, 200);
    let contract = signed_contract(&app).await;
    let lump = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "programme": "coordination", "basis": "lump_sum",
                    "origin": "new", "years": [{"year": 2025, "amount_cents": 500_000}], "decision_date": "2024-12-01"}),
        )
        .await;
    let commitment = format!("/v1/funding-commitments/{}", lump["id"].as_str().unwrap());
    commit(&app, &commitment).await;
    generate(&app, &commitment).await;
    // Even with no evidence to wait for, the balance is actual − paid: it waits for the actual.
    let unsettled = schedule(&app, &commitment).await;
    let planned_balance = line_id(&unsettled, "balance", None);
    let early = pay(&app, &commitment, &planned_balance, 150_000, None).await;
    let codes: Vec<String> = errors(early.assert_problem(409, "CONFLICT")).into_iter().map(|(code, _)| code).collect();
    assert_eq!(codes, ["ACTUAL_NOT_RECORDED"]);
    assert_eq!(schedule(&app, &commitment).await, unsettled, "a refused payment pays nothing");
    let actual = entitle(&app, &commitment, &admin_token(), &json!({"actual_cents": 400_000})).await;
    assert_eq!(actual.status, 200, "{}", actual.text);
    // Nothing paid yet: the advances are cancelled and the balance is the whole actual.
    let settled = schedule(&app, &commitment).await;
    assert_eq!(
        lines(&settled).into_iter().map(|(kind, amount, ..)| (kind, amount)).collect::<Vec<_>>(),
        [("balance".into(), 400_000)]
    );
    let balance = line_id(&settled, "balance", None);
    assert_eq!(pay(&app, &commitment, &balance, 400_000, None).await.status, 201);
}
