//! CEJ → CTG at signature: the preview's figures to the cent, a signature that creates exactly
//! what the preview showed (with its history and feed), every blocking condition at once, and a
//! transfer that is all or nothing, under an injected failure and under concurrent signatures.

use std::collections::BTreeSet;

use ctg_api::db::{self, DbConnection};
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use crate::fixtures::{ANNECY_AGGLO, FAUCIGNY, caf, draft_ctg, epci};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

/// A valid SIREN for the association that runs the crèche.
const ASSOCIATION_SIREN: &str = "100000009";

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// The Faucigny's world: its CAF, the EPCI, an association, and three facilities: a crèche run
/// by the association, an ALSH and a RPE run by the EPCI.
struct World {
    caf: Value,
    faucigny: Value,
    association: Value,
    creche: String,
    alsh: String,
    rpe: String,
}

async fn world(app: &TestApp) -> World {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    let association = app
        .create(
            "/v1/organisations",
            &json!({"kind": "association", "name": "Les Petits Pas", "siren": ASSOCIATION_SIREN, "department": "74"}),
        )
        .await;
    let equipment = |kind: &str, name: &str, manager: &Value, places: i64| json!({"type": kind, "name": name, "manager_id": manager["id"], "commune": "74042", "capacity_places": places});
    let creche =
        id_of(&app.create("/v1/equipments", &equipment("eaje", "Crèche Les Petits Pas", &association, 30)).await);
    let alsh =
        id_of(&app.create("/v1/equipments", &equipment("alsh_periscolaire", "ALSH Bonneville", &faucigny, 60)).await);
    let rpe = id_of(&app.create("/v1/equipments", &equipment("rpe", "RPE Faucigny", &faucigny, 1)).await);
    World { caf, faucigny, association, creche, alsh, rpe }
}

/// A signed CEJ 2019-2022 over `perimeter`, signed by the CAF and `signatories`, with the EPCI and
/// the association as payees.
async fn signed_cej(app: &TestApp, w: &World, title: &str, signatories: &[&Value]) -> String {
    let cej = app
        .create(
            "/v1/contracts",
            &json!({"kind": "cej", "title": title, "department": "74", "start_date": "2019-01-01",
                    "end_date": "2022-12-31", "fields": ["enfance"], "perimeter": {"epcis": [FAUCIGNY]}}),
        )
        .await;
    let id = id_of(&cej);
    // Two names, as a CAF signs; the others simply have them too.
    let signed = json!({"signed_on": "2019-03-01", "deliberation_date": "2019-02-01", "deliberation_ref": "D1",
                        "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"});
    let mut parties: Vec<(Value, Value)> = vec![(w.caf["id"].clone(), json!(["signatory"]))];
    for signatory in signatories {
        let roles =
            if signatory["id"] == w.faucigny["id"] { json!(["signatory", "payee"]) } else { json!(["signatory"]) };
        parties.push((signatory["id"].clone(), roles));
    }
    if !signatories.iter().any(|s| s["id"] == w.faucigny["id"]) {
        parties.push((w.faucigny["id"].clone(), json!(["payee"])));
    }
    parties.push((w.association["id"].clone(), json!(["payee"])));
    for (organisation, roles) in parties {
        let mut body = json!({"organisation_id": organisation, "roles": roles});
        if body["roles"].as_array().unwrap().contains(&json!("signatory")) {
            body.as_object_mut().unwrap().extend(signed.as_object().unwrap().clone());
        }
        app.create(&format!("/v1/contracts/{id}/parties"), &body).await;
    }
    for action in ["submit", "sign"] {
        let answer = app.transition(&id, &admin_token(), &json!({"action": action})).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text);
    }
    id
}

/// A committed `psej` commitment of `cej` for `equipment`, paid to `payee`; returns its id.
async fn psej(app: &TestApp, cej: &str, payee: &Value, equipment: &str, years: &[(i64, i64)]) -> String {
    let years: Vec<Value> = years.iter().map(|(year, cents)| json!({"year": year, "amount_cents": cents})).collect();
    let commitment = app
        .create(
            &format!("/v1/contracts/{cej}/funding-commitments"),
            &json!({"payee_id": payee["id"], "equipment_id": equipment, "programme": "psej", "basis": "per_equipment",
                    "origin": "new", "years": years, "decision_date": "2019-03-15"}),
        )
        .await;
    let id = id_of(&commitment);
    app.commit_commitment(&id).await;
    id
}

fn connect(app: &TestApp) -> DbConnection {
    db::connect(app.database.url()).unwrap()
}

/// The CEJ of the walk-through: the crèche funded by two commitments (the second with its 2022
/// actual entitlement recorded), the ALSH by one, the RPE by one that stops in 2021. Returns the
/// CEJ and the commitments (crèche 1, crèche 2, ALSH, RPE).
async fn funded_cej(app: &TestApp, w: &World, title: &str) -> (String, [String; 4]) {
    let cej = signed_cej(app, w, title, &[&w.faucigny]).await;
    let creche_1 = psej(
        app,
        &cej,
        &w.association,
        &w.creche,
        &[(2019, 1_200_000), (2020, 1_250_000), (2021, 1_300_000), (2022, 1_354_321)],
    )
    .await;
    let creche_2 = psej(app, &cej, &w.association, &w.creche, &[(2022, 100_005)]).await;
    let alsh = psej(app, &cej, &w.faucigny, &w.alsh, &[(2021, 800_000), (2022, 812_345)]).await;
    let rpe = psej(app, &cej, &w.faucigny, &w.rpe, &[(2020, 150_000), (2021, 150_000)]).await;
    // The actual entitlement of 2022 for the second commitment: 900.04 €, not the 1,000.05 committed.
    connect(app)
        .batch_execute(&format!(
            "UPDATE funding_years SET actual_cents = 90004 WHERE commitment_id = '{creche_2}' AND year = 2022"
        ))
        .unwrap();
    (cej, [creche_1, creche_2, alsh, rpe])
}

/// A CTG 2024-2028 over the Faucigny replacing `cejs`, with the association as a party, submitted
/// and every signature recorded: one transition away from its signature.
async fn ctg_replacing(app: &TestApp, w: &World, cejs: &[&str]) -> String {
    let ctg = draft_ctg(app, "74", &w.caf, &w.faucigny).await;
    app.create(
        &format!("/v1/contracts/{}/parties", ctg.id),
        &json!({"organisation_id": w.association["id"], "roles": ["payee"]}),
    )
    .await;
    let path = format!("/v1/contracts/{}", ctg.id);
    let etag = app.etag(&path).await;
    let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"predecessor_ids": cejs})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let submitted = app.transition(&ctg.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    for party in [&ctg.caf_party, &ctg.epci_party] {
        let party_path = format!("{path}/parties/{party}");
        let etag = app.etag(&party_path).await;
        let mut body =
            json!({"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "DEL-2024-007"});
        if party == &ctg.epci_party {
            // The EPCI runs the ALSH: its bonus is paid to it.
            body["roles"] = json!(["signatory", "pilot", "payee"]);
        }
        assert_eq!(app.patch_json(&party_path, &admin_token(), &etag, &body).await.status, 200);
    }
    ctg.id
}

async fn preview(app: &TestApp, ctg: &str) -> Value {
    let answer = app.get(&format!("/v1/contracts/{ctg}/cej-transfer"), &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

async fn sign(app: &TestApp, ctg: &str) -> Answer {
    app.transition(ctg, &admin_token(), &json!({"action": "sign"})).await
}

async fn commitments(app: &TestApp, contract: &str) -> Vec<Value> {
    let answer = app.get(&format!("/v1/contracts/{contract}/funding-commitments"), &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().unwrap().clone()
}

fn codes(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
}

fn years(values: &Value) -> Vec<(i64, i64)> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|y| (y["year"].as_i64().unwrap(), y["amount_cents"].as_i64().unwrap()))
        .collect()
}

fn sorted_ids(values: &Value) -> BTreeSet<String> {
    values.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

const CRECHE_YEARLY: i64 = 1_354_321 + 90_004;
const ALSH_YEARLY: i64 = 812_345;

#[tokio::test]
async fn the_preview_gives_the_transfer_to_the_cent_and_the_signature_makes_exactly_it() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (cej, [creche_1, creche_2, alsh, rpe]) = funded_cej(&app, &w, "CEJ Faucigny 2019-2022").await;
    let ctg = ctg_replacing(&app, &w, &[&cej]).await;

    let plan = preview(&app, &ctg).await;
    assert_eq!(plan["contract_id"], ctg.as_str());
    assert_eq!(plan["blocking"], json!([]));
    let transfer = &plan["cejs"][0];
    assert_eq!(
        (transfer["cej_id"].as_str(), transfer["reference"].as_str()),
        (Some(cej.as_str()), Some("CEJ-074-2019-0001"))
    );
    assert_eq!((transfer["ends_on"].as_str(), transfer["reference_year"].as_i64()), (Some("2022-12-31"), Some(2022)));
    assert_eq!(transfer["closed_years"], json!([]));
    let facilities = transfer["facilities"].as_array().unwrap();
    let names: Vec<&str> = facilities.iter().map(|f| f["equipment_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ALSH Bonneville", "Crèche Les Petits Pas", "RPE Faucigny"]);
    let [alsh_plan, creche_plan, rpe_plan] = [&facilities[0], &facilities[1], &facilities[2]];

    assert_eq!(creche_plan["manager_id"], w.association["id"]);
    assert_eq!(
        creche_plan["commitments"],
        json!([{"commitment_id": creche_1, "amount_cents": 1_354_321, "basis": "committed"},
               {"commitment_id": creche_2, "amount_cents": 90_004, "basis": "actual"}])
    );
    assert_eq!(creche_plan["carried_cents"], CRECHE_YEARLY);
    let bonus = &creche_plan["bonus"];
    assert_eq!(
        (bonus["programme"].as_str(), bonus["basis"].as_str(), bonus["origin"].as_str(), bonus["status"].as_str()),
        (Some("bonus_territoire_eaje"), Some("per_equipment"), Some("ex_cej"), Some("draft"))
    );
    assert_eq!((&bonus["payee_id"], bonus["equipment_id"].as_str()), (&w.association["id"], Some(w.creche.as_str())));
    assert_eq!(years(&bonus["years"]), (2024..=2028).map(|y| (y, CRECHE_YEARLY)).collect::<Vec<_>>());
    assert_eq!(bonus["total_cents"], 5 * CRECHE_YEARLY);

    assert_eq!(
        (alsh_plan["carried_cents"].as_i64(), alsh_plan["manager_id"].as_str()),
        (Some(ALSH_YEARLY), w.faucigny["id"].as_str())
    );
    assert_eq!(
        alsh_plan["commitments"],
        json!([{"commitment_id": alsh, "amount_cents": ALSH_YEARLY, "basis": "committed"}])
    );
    assert_eq!(alsh_plan["bonus"]["programme"], "bonus_territoire_alsh");
    assert_eq!(alsh_plan["bonus"]["total_cents"], 4_061_725);
    // The RPE has nothing in 2022: listed with 0, no bonus.
    assert_eq!(rpe_plan["commitments"], json!([{"commitment_id": rpe, "amount_cents": 0, "basis": "committed"}]));
    assert_eq!((rpe_plan["carried_cents"].as_i64(), &rpe_plan["bonus"]), (Some(0), &Value::Null));
    assert_eq!(years(&plan["totals"]), (2024..=2028).map(|y| (y, 2_256_670)).collect::<Vec<_>>());

    // The CAF's roles read the preview; a collectivity party of the CTG does not, since it shows
    // the money of CEJs it may not be party to.
    let faucigny = app.get(&format!("/v1/contracts/{ctg}/cej-transfer"), &collectivity_token(&[FAUCIGNY])).await;
    faucigny.assert_problem(403, "FORBIDDEN");
    let agent = app.get(&format!("/v1/contracts/{ctg}/cej-transfer"), &caf_agent_token(&["74"])).await;
    assert_eq!(agent.body, plan);

    let before_cej = commitments(&app, &cej).await;
    let signed = sign(&app, &ctg).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(signed.body["status"], "active");
    let now = app.get(&format!("/v1/contracts/{ctg}"), &admin_token()).await;
    assert_eq!(signed.header("etag"), now.header("etag"), "the answer carries the version the CTG ends with");

    // Exactly the previewed bonuses, in draft, continuing the CEJ's commitments.
    let created = commitments(&app, &ctg).await;
    assert_eq!(created.len(), 2, "{created:?}");
    let previewed: Vec<&Value> = [creche_plan, alsh_plan].into_iter().map(|f| &f["bonus"]).collect();
    for bonus in previewed {
        let made = created.iter().find(|c| c["equipment_id"] == bonus["equipment_id"]).unwrap();
        for field in ["programme", "payee_id", "equipment_id", "basis", "origin", "status", "total_cents"] {
            assert_eq!(made[field], bonus[field], "{field}");
        }
        assert_eq!(years(&made["years"]), years(&bonus["years"]));
        assert_eq!(sorted_ids(&made["continues_ids"]), sorted_ids(&bonus["continues_ids"]));
        assert_eq!((made["money_origin"].as_str(), made["units"].as_i64()), (Some("ex_cej"), Some(1)));
        assert_eq!(made["unit_amount_cents"], bonus["years"][0]["amount_cents"]);
    }
    // The CEJ's commitments had no year after its end: unchanged, still committed.
    assert_eq!(commitments(&app, &cej).await, before_cej);
    let cej_now = app.get(&format!("/v1/contracts/{cej}"), &admin_token()).await;
    assert_eq!(cej_now.body["status"], "superseded");

    // In the CTG's history: the two bonuses with why they exist, then the signature.
    let history = app.get(&format!("/v1/contracts/{ctg}/history"), &admin_token()).await;
    let entries = history.body["items"].as_array().unwrap();
    let last: Vec<(&str, &str)> = entries[entries.len() - 3..]
        .iter()
        .map(|e| (e["resource"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        last,
        [("funding_commitment", "created"), ("funding_commitment", "created"), ("contract", "transitioned")]
    );
    assert_eq!(
        entries[entries.len() - 3]["reason"],
        "carried over from CEJ-074-2019-0001 at the signature of CTG-074-2024-0001"
    );
    // And in the feed, in that order, with the CEJ's supersession after them: the CTG's version
    // moves once for its parts, then with its signature.
    let feed = app.get("/v1/events?limit=200", &admin_token()).await;
    let events = feed.body["items"].as_array().unwrap();
    let tail: Vec<&str> = events[events.len() - 5..].iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        tail,
        [
            "funding_commitment.created",
            "contract.touched",
            "funding_commitment.created",
            "contract.transitioned",
            "contract.transitioned"
        ]
    );
    assert_eq!(events[events.len() - 1]["contract_id"], cej.as_str());

    // Signed, the CTG has no preview any more; a CEJ never had one.
    let again = app.get(&format!("/v1/contracts/{ctg}/cej-transfer"), &admin_token()).await;
    assert!(again.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().contains("signed"));
    let of_cej = app.get(&format!("/v1/contracts/{cej}/cej-transfer"), &admin_token()).await;
    assert!(of_cej.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().contains("CEJ"));
}

#[tokio::test]
async fn years_after_the_cej_end_close_and_their_unpaid_lines_are_cancelled() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cej = signed_cej(&app, &w, "CEJ Faucigny", &[&w.faucigny]).await;
    let commitment = psej(&app, &cej, &w.faucigny, &w.alsh, &[(2021, 500_000), (2022, 600_000)]).await;
    // A year after the CEJ's end, as the CAF's former system recorded some (the API keeps years
    // inside the period).
    connect(&app)
        .batch_execute(&format!(
            "INSERT INTO funding_years (commitment_id, year, amount_cents) VALUES ('{commitment}', 2023, 650000)"
        ))
        .unwrap();
    let answer = app.generate_schedule(&commitment, &json!({"advance_percent": 70, "advance_splits": ["03-01"]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let ctg = ctg_replacing(&app, &w, &[&cej]).await;

    let plan = preview(&app, &ctg).await;
    assert_eq!(plan["blocking"], json!([]));
    let transfer = &plan["cejs"][0];
    assert_eq!(transfer["reference_year"], 2022, "2023 is after the end");
    assert_eq!(transfer["closed_years"], json!([{"commitment_id": commitment, "years": [2023]}]));
    let bonus_years = years(&transfer["facilities"][0]["bonus"]["years"]);
    assert_eq!(bonus_years, (2024..=2028).map(|y| (y, 600_000)).collect::<Vec<_>>());

    let signed = sign(&app, &ctg).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    let closed = app.get(&format!("/v1/funding-commitments/{commitment}"), &admin_token()).await.body;
    assert_eq!(years(&closed["years"]), [(2021, 500_000), (2022, 600_000)]);
    assert_eq!(closed["status"], "committed", "the balance of 2022 can still be paid");
    let schedule = app.get(&format!("/v1/funding-commitments/{commitment}/schedule"), &admin_token()).await.body;
    let lines = schedule["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 6, "{schedule}");
    for line in lines {
        assert_eq!(line["status"] == "cancelled", line["year"] == 2023, "{line}");
    }
    let history = app.get(&format!("/v1/contracts/{cej}/history"), &admin_token()).await;
    let entries = history.body["items"].as_array().unwrap();
    let closing = &entries[entries.len() - 2];
    assert_eq!(
        (closing["resource"].as_str(), closing["action"].as_str()),
        (Some("funding_commitment"), Some("updated"))
    );
    assert_eq!(closing["reason"], "replaced by CTG-074-2024-0001");
    assert_eq!(years(&closing["before"]["years"]).len(), 3);
}

#[tokio::test]
async fn every_blocking_condition_refuses_the_signature_at_once() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let annecy = epci(&app, ANNECY_AGGLO).await;
    // Annecy's agglomeration signed the CEJ; the association is no party of the CTG; the CTG
    // starts more than a year after the CEJ's end.
    let cej = signed_cej(&app, &w, "CEJ Faucigny-Annecy", &[&w.faucigny, &annecy]).await;
    psej(&app, &cej, &w.association, &w.creche, &[(2022, 1_000_000)]).await;
    let ctg = draft_ctg(&app, "74", &w.caf, &w.faucigny).await;
    let path = format!("/v1/contracts/{}", ctg.id);
    let etag = app.etag(&path).await;
    let body = json!({"predecessor_ids": [cej], "start_date": "2024-01-02"});
    assert_eq!(app.patch_json(&path, &admin_token(), &etag, &body).await.status, 200);
    let submitted = app.transition(&ctg.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);

    let expected = ["CEJ_SIGNATORY_LEFT_OUT", "CEJ_GAP_TOO_LONG", "CEJ_MANAGER_NOT_A_PARTY"];
    let plan = preview(&app, &ctg.id).await;
    let blocking: Vec<&str> =
        plan["blocking"].as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect();
    assert_eq!(blocking, expected);
    assert!(plan["blocking"][0]["detail"].as_str().unwrap().contains("CEJ-074-2019-0001"));
    assert!(plan["blocking"][2]["detail"].as_str().unwrap().contains("Crèche Les Petits Pas"));
    // The signature lists them with what the lifecycle still misses (no signature recorded).
    let refused = sign(&app, &ctg.id).await;
    let problem = refused.assert_problem(409, "INVALID_STATE_TRANSITION");
    let listed = codes(problem);
    for code in expected {
        assert!(listed.contains(&code.to_owned()), "{listed:?}");
    }
    assert!(listed.contains(&"PARTY_NOT_SIGNED".to_owned()), "{listed:?}");

    for party in [&ctg.caf_party, &ctg.epci_party] {
        let party_path = format!("{path}/parties/{party}");
        let etag = app.etag(&party_path).await;
        let body = json!({"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "D"});
        assert_eq!(app.patch_json(&party_path, &admin_token(), &etag, &body).await.status, 200);
    }
    let refused = sign(&app, &ctg.id).await;
    assert_eq!(codes(refused.assert_problem(409, "INVALID_STATE_TRANSITION")), expected);

    // Each met in turn: Annecy's agglomeration in the perimeter, the association a party, the
    // start within a year.
    let etag = app.etag(&path).await;
    let body = json!({"perimeter": {"epcis": [FAUCIGNY, ANNECY_AGGLO]}});
    assert_eq!(app.patch_json(&path, &admin_token(), &etag, &body).await.status, 200);
    assert_eq!(codes(sign(&app, &ctg.id).await.assert_problem(409, "INVALID_STATE_TRANSITION")), &expected[1..]);
    app.create(&format!("{path}/parties"), &json!({"organisation_id": w.association["id"], "roles": ["payee"]})).await;
    assert_eq!(codes(sign(&app, &ctg.id).await.assert_problem(409, "INVALID_STATE_TRANSITION")), &expected[1..2]);
    let etag = app.etag(&path).await;
    assert_eq!(app.patch_json(&path, &admin_token(), &etag, &json!({"start_date": "2024-01-01"})).await.status, 200);
    // A bonus for the crèche already recorded by hand: carrying the CEJ would pay it twice.
    let by_hand = app
        .create(
            &format!("{path}/funding-commitments"),
            &json!({"payee_id": w.association["id"], "equipment_id": w.creche, "programme": "bonus_territoire_eaje",
                    "basis": "per_equipment", "origin": "ex_cej", "years": [{"year": 2024, "amount_cents": 100}]}),
        )
        .await;
    assert_eq!(
        codes(sign(&app, &ctg.id).await.assert_problem(409, "INVALID_STATE_TRANSITION")),
        ["CEJ_ALREADY_CARRIED"]
    );
    let by_hand = format!("/v1/funding-commitments/{}", by_hand["id"].as_str().unwrap());
    let etag = app.etag(&by_hand).await;
    assert_eq!(app.delete_with(&by_hand, &admin_token(), &etag).await.status, 204);
    assert_eq!(preview(&app, &ctg.id).await["blocking"], json!([]));
    let signed = sign(&app, &ctg.id).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(commitments(&app, &ctg.id).await.len(), 1);
}

#[tokio::test]
async fn a_ctg_replacing_two_cejs_carries_both() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (first, _) = funded_cej(&app, &w, "CEJ Faucigny 2019-2022").await;
    let second = signed_cej(&app, &w, "CEJ Faucigny jeunesse", &[&w.faucigny]).await;
    let jeunes = id_of(
        &app.create(
            "/v1/equipments",
            &json!({"type": "accueil_jeunes", "name": "Espace jeunes", "manager_id": w.faucigny["id"], "commune": "74042", "capacity_places": 20}),
        )
        .await,
    );
    psej(&app, &second, &w.faucigny, &jeunes, &[(2021, 250_000), (2022, 260_001)]).await;
    let ctg = ctg_replacing(&app, &w, &[&first, &second]).await;

    let plan = preview(&app, &ctg).await;
    let mut ids: Vec<&str> = vec![&first, &second];
    ids.sort_unstable();
    let listed: Vec<&str> = plan["cejs"].as_array().unwrap().iter().map(|c| c["cej_id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "in the order of their ids");
    assert_eq!(years(&plan["totals"]), (2024..=2028).map(|y| (y, 2_256_670 + 260_001)).collect::<Vec<_>>());

    assert_eq!(sign(&app, &ctg).await.status, 200);
    let created = commitments(&app, &ctg).await;
    let mut programmes: Vec<&str> = created.iter().map(|c| c["programme"].as_str().unwrap()).collect();
    programmes.sort_unstable();
    assert_eq!(programmes, ["bonus_territoire_alsh", "bonus_territoire_eaje", "bonus_territoire_jeunes"]);
    let total: i64 = created.iter().map(|c| c["total_cents"].as_i64().unwrap()).sum();
    assert_eq!(total, 5 * (2_256_670 + 260_001));
    for cej in [&first, &second] {
        assert_eq!(app.get(&format!("/v1/contracts/{cej}"), &admin_token()).await.body["status"], "superseded");
    }
}

/// Makes the second continuation written in the transaction fail, as a fault of the database
/// half-way through the transfer would.
fn inject_failure(conn: &mut DbConnection) {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "CREATE TRIGGER injected_failure BEFORE INSERT ON funding_continuations
             WHEN (SELECT COUNT(*) FROM funding_continuations) >= 1
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        }
        DbConnection::Pg(_) => {
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF (SELECT COUNT(*) FROM funding_continuations) >= 1 THEN
                     RAISE EXCEPTION 'injected failure';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER injected_failure BEFORE INSERT ON funding_continuations
                 FOR EACH ROW EXECUTE FUNCTION injected_failure();"
        }
    };
    conn.batch_execute(sql).unwrap();
}

fn remove_failure(conn: &mut DbConnection) {
    let sql = match conn {
        DbConnection::Sqlite(_) => "DROP TRIGGER injected_failure;",
        DbConnection::Pg(_) => {
            "DROP TRIGGER injected_failure ON funding_continuations; DROP FUNCTION injected_failure();"
        }
    };
    conn.batch_execute(sql).unwrap();
}

#[tokio::test]
async fn a_failure_half_way_through_the_transfer_leaves_everything_as_it_was() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (cej, _) = funded_cej(&app, &w, "CEJ Faucigny 2019-2022").await;
    let ctg = ctg_replacing(&app, &w, &[&cej]).await;
    let before = (
        app.get(&format!("/v1/contracts/{ctg}"), &admin_token()).await.body,
        app.get(&format!("/v1/contracts/{cej}"), &admin_token()).await.body,
        commitments(&app, &cej).await,
        app.get("/v1/events?limit=200", &admin_token()).await.body["items"].as_array().unwrap().len(),
    );
    let mut conn = connect(&app);
    inject_failure(&mut conn);

    let failed = sign(&app, &ctg).await;
    let problem = failed.assert_problem(500, "INTERNAL");
    assert!(!failed.text.contains("injected"), "no internal detail: {}", failed.text);
    assert!(problem.get("errors").is_none_or(|errors| errors == &json!([])));
    let after = (
        app.get(&format!("/v1/contracts/{ctg}"), &admin_token()).await.body,
        app.get(&format!("/v1/contracts/{cej}"), &admin_token()).await.body,
        commitments(&app, &cej).await,
        app.get("/v1/events?limit=200", &admin_token()).await.body["items"].as_array().unwrap().len(),
    );
    assert_eq!(after, before, "the CTG unsigned, the CEJ signed and untouched, no event");
    assert_eq!(after.0["status"], "in_review");
    assert_eq!(after.1["status"], "expired", "a signed CEJ past its period");
    assert!(commitments(&app, &ctg).await.is_empty(), "no bonus");

    remove_failure(&mut conn);
    let signed = sign(&app, &ctg).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(commitments(&app, &ctg).await.len(), 2);
}

#[tokio::test]
async fn two_concurrent_signatures_make_one_signature_and_one_transfer() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (cej, _) = funded_cej(&app, &w, "CEJ Faucigny 2019-2022").await;
    let ctg = ctg_replacing(&app, &w, &[&cej]).await;
    let etag = app.etag(&format!("/v1/contracts/{ctg}")).await;
    let request = || {
        app.client
            .post(app.url(&format!("/v1/contracts/{ctg}/transitions")))
            .bearer_auth(admin_token())
            .header("If-Match", etag.clone())
            .json(&json!({"action": "sign"}))
    };
    let (a, b) = tokio::join!(app.send(request()), app.send(request()));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
    assert_eq!(commitments(&app, &ctg).await.len(), 2, "one transfer");
    let history = app.get(&format!("/v1/contracts/{ctg}/history"), &admin_token()).await;
    let signatures = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "transitioned" && e["after"]["status"] == "active")
        .count();
    assert_eq!(signatures, 1);
}
