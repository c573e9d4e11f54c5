//! The indicators a contract follows: baseline, targets, the observed actual of each target's
//! period and the progress towards it; the checks on what is followed and where; versions,
//! history and who may read and write.

use std::collections::BTreeSet;

use ctg_api::db;
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use crate::fixtures::{ANNECY_AGGLO, BONNEVILLE_INSEE, ContractFixture, FAUCIGNY, caf, draft_ctg, epci};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

/// A commune of the CC Faucigny - Glières other than Bonneville.
const FAUCIGNY_COMMUNE: &str = "74164";
/// Annecy, in the CA du Grand Annecy: in 74, outside Faucigny.
const ANNECY_INSEE: &str = "74010";

/// A draft CTG of the CAF of 74 over Faucigny, 2024 to 2028.
async fn contract(app: &TestApp) -> ContractFixture {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    draft_ctg(app, "74", &caf, &faucigny).await
}

fn indicators_of(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}/indicators", contract.id)
}

/// The early-childcare coverage rate of Faucigny: 48 in 2022, aiming at 53, 56 and 58.
fn coverage_follow_up() -> Value {
    json!({
        "indicator": "taux_couverture_eaje_epci", "geo_level": "epci", "geo_code": FAUCIGNY,
        "baseline": {"period": "2022", "value": "48"},
        "targets": [
            {"period": "2026", "value": "56"},
            {"period": "2025", "value": "53.00"},
            {"period": "2027", "value": "58"},
        ],
    })
}

/// Writes an observation straight into the service's database (there is no API for it here):
/// `value` `None` is a suppressed one.
fn observe(app: &TestApp, indicator: &str, level: &str, code: &str, period: &str, value: Option<&str>) {
    let mut conn = db::connect(app.database.url()).unwrap();
    let (value, suppressed) = match value {
        Some(value) => (format!("'{value}'"), "FALSE"),
        None => ("NULL".to_owned(), "TRUE"),
    };
    conn.batch_execute(&format!(
        "INSERT INTO observations (indicator, geo_level, geo_code, period, value, suppressed, source, millesime, \
         ingest_id, ingest_line, updated_at, origin) \
         VALUES ('{indicator}', '{level}', '{code}', '{period}', {value}, {suppressed}, 'Test', NULL, 'test', 1, \
         '2026-01-15 00:00:00', 'official')"
    ))
    .unwrap();
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

fn expected(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(pointer, code)| ((*pointer).to_owned(), (*code).to_owned())).collect()
}

/// The targets of a view as (period, value, actual, actual_suppressed, progress_percent, achieved).
fn targets(view: &Value) -> Vec<(String, String, Value, bool, Value, Value)> {
    view["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|target| {
            (
                target["period"].as_str().unwrap().to_owned(),
                target["value"].as_str().unwrap().to_owned(),
                target["actual"].clone(),
                target["actual_suppressed"].as_bool().unwrap(),
                target["progress_percent"].clone(),
                target["achieved"].clone(),
            )
        })
        .collect()
}

fn target(
    period: &str,
    value: &str,
    actual: Value,
    suppressed: bool,
    progress: Value,
    achieved: Value,
) -> (String, String, Value, bool, Value, Value) {
    (period.to_owned(), value.to_owned(), actual, suppressed, progress, achieved)
}

#[tokio::test]
async fn a_followed_indicator_shows_the_actual_of_each_target_period_and_the_progress() {
    let app = spawn_app().await;
    let contract = contract(&app).await;
    let path = indicators_of(&contract);
    let agent = caf_agent_token(&["74"]);
    let contract_etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;

    let created = app.post_json(&path, &agent, &coverage_follow_up()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("{path}/{id}").as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = &created.body;
    assert_eq!(body["contract_id"], contract.id.as_str());
    assert_eq!(
        (&body["indicator"], &body["geo_level"], &body["geo_code"], &body["unit"], &body["ascending"]),
        (
            &json!("taux_couverture_eaje_epci"),
            &json!("epci"),
            &json!(FAUCIGNY),
            &json!("places_per_100_children"),
            &json!(true)
        )
    );
    assert_eq!(body["baseline"], json!({"period": "2022", "value": "48"}));
    assert_eq!(body["version"], 1);
    // By period, values in their canonical form, nothing observed yet.
    let nothing = |period: &str, value: &str| target(period, value, Value::Null, false, Value::Null, Value::Null);
    assert_eq!(targets(body), vec![nothing("2025", "53"), nothing("2026", "56"), nothing("2027", "58")]);
    // Following an indicator is a change to the contract.
    let after = app.etag(&format!("/v1/contracts/{}", contract.id)).await;
    assert_ne!(after, contract_etag, "the contract's version did not move");

    // 2025 observed, 2026 suppressed for statistical secrecy, 2027 not published; values of other
    // places and periods do not count.
    observe(&app, "taux_couverture_eaje_epci", "epci", FAUCIGNY, "2025", Some("51.1250"));
    observe(&app, "taux_couverture_eaje_epci", "epci", FAUCIGNY, "2026", None);
    observe(&app, "taux_couverture_eaje_epci", "epci", FAUCIGNY, "2024", Some("50"));
    observe(&app, "taux_couverture_eaje_epci", "epci", ANNECY_AGGLO, "2027", Some("70"));
    observe(&app, "taux_couverture_eaje_departement", "department", "74", "2027", Some("70"));

    // The collectivity party to the contract reads it.
    let one = app.get(&format!("{path}/{id}"), &collectivity_token(&[FAUCIGNY])).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.header("etag"), Some("\"1\""), "observations do not change the follow-up's version");
    assert_eq!(
        targets(&one.body),
        vec![
            // (51.125 - 48) / (53 - 48) = 62.5 %, short of the target.
            target("2025", "53", json!("51.125"), false, json!("62.5"), json!(false)),
            target("2026", "56", Value::Null, true, Value::Null, Value::Null),
            nothing("2027", "58"),
        ]
    );

    // Past the target: more than 100 %, achieved.
    observe(&app, "taux_couverture_eaje_epci", "epci", FAUCIGNY, "2027", Some("59"));
    let list = app.get(&path, &agent).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["next_page_token"], Value::Null);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    // (59 - 48) / (58 - 48) = 110 %.
    assert_eq!(targets(&items[0])[2], target("2027", "58", json!("59"), false, json!("110"), json!(true)));

    // The list takes no parameter.
    app.get(&format!("{path}?page_size=10"), &agent).await.assert_problem(400, "INVALID_PARAMETER");
}

#[tokio::test]
async fn a_descending_indicator_progresses_as_it_falls() {
    let app = spawn_app().await;
    let contract = contract(&app).await;
    app.create(
        "/v1/indicators",
        &json!({"code": "demandes_eaje_non_satisfaites", "label": "Demandes d'accueil non satisfaites", "unit": "count",
                "ascending": false, "source": "Cnaf", "geo_level": "epci", "periodicity": "annual"}),
    )
    .await;
    let created = app
        .create(
            &indicators_of(&contract),
            &json!({
                "indicator": "demandes_eaje_non_satisfaites", "geo_level": "epci", "geo_code": FAUCIGNY,
                "baseline": {"period": "2023", "value": "200"},
                "targets": [
                    {"period": "2025", "value": "100"}, {"period": "2026", "value": "80"},
                    {"period": "2027", "value": "100"}, {"period": "2028", "value": "200"},
                ],
            }),
        )
        .await;
    assert_eq!(created["ascending"], false);
    for (period, value) in [("2025", "150"), ("2026", "75"), ("2027", "210"), ("2028", "190")] {
        observe(&app, "demandes_eaje_non_satisfaites", "epci", FAUCIGNY, period, Some(value));
    }
    let read =
        app.get(&format!("{}/{}", indicators_of(&contract), created["id"].as_str().unwrap()), &admin_token()).await;
    assert_eq!(
        targets(&read.body),
        vec![
            // Half-way down from 200 to 100.
            target("2025", "100", json!("150"), false, json!("50"), json!(false)),
            // (75 - 200) / (80 - 200) = 104.1666… %, below the target: achieved.
            target("2026", "80", json!("75"), false, json!("104.2"), json!(true)),
            // Up instead of down: negative progress.
            target("2027", "100", json!("210"), false, json!("-10"), json!(false)),
            // A target equal to the baseline has no distance to cover, but can be met.
            target("2028", "200", json!("190"), false, Value::Null, json!(true)),
        ]
    );
}

#[tokio::test]
async fn every_problem_of_a_follow_up_is_named_at_once() {
    let app = spawn_app().await;
    let contract = contract(&app).await;
    let path = indicators_of(&contract);
    let agent = caf_agent_token(&["74"]);
    let post = |body: Value| {
        let (app, path, agent) = (&app, &path, &agent);
        async move { app.post_json(path, agent, &body).await }
    };

    // Not in the catalogue, and no such commune.
    let answer = post(json!({"indicator": "inconnu", "geo_level": "commune", "geo_code": "99999"})).await;
    assert_eq!(
        complaints(&answer),
        expected(&[("/geo_code", "UNKNOWN_GEO_CODE"), ("/indicator", "UNKNOWN_INDICATOR")])
    );
    for (level, code) in [("epci", "200000000"), ("department", "99"), ("commune", FAUCIGNY)] {
        let answer =
            post(json!({"indicator": "taux_couverture_eaje_epci", "geo_level": level, "geo_code": code})).await;
        assert!(
            complaints(&answer).contains(&("/geo_code".to_owned(), "UNKNOWN_GEO_CODE".to_owned())),
            "{level} {code}"
        );
    }

    // The wrong level, unreadable baseline, and targets that do not fit, repeat a period, fall
    // after the contract or do not read.
    let answer = post(json!({
        "indicator": "taux_couverture_eaje_epci", "geo_level": "commune", "geo_code": BONNEVILLE_INSEE,
        "baseline": {"period": "2024-Q5", "value": "1e3"},
        "targets": [
            {"period": "2025-Q1", "value": "50"},
            {"period": "2026", "value": "50"},
            {"period": "2026", "value": "51"},
            {"period": "2031", "value": "60"},
            {"period": "2027", "value": "57.30001"},
            {"period": "27", "value": "57"},
        ],
    }))
    .await;
    assert_eq!(
        complaints(&answer),
        expected(&[
            ("/baseline/period", "INVALID_PERIOD"),
            ("/baseline/value", "INVALID_VALUE"),
            ("/geo_level", "GEO_LEVEL_MISMATCH"),
            ("/targets/0/period", "PERIOD_DOES_NOT_FIT"),
            ("/targets/2/period", "DUPLICATE_PERIOD"),
            ("/targets/3/period", "TARGET_OUTSIDE_CONTRACT"),
            ("/targets/4/value", "INVALID_VALUE"),
            ("/targets/5/period", "INVALID_PERIOD"),
        ])
    );
    // A baseline of a quarterly indicator must be a quarter too; a target before the contract.
    let answer = post(json!({
        "indicator": "heures_activite_alsh", "geo_level": "commune", "geo_code": BONNEVILLE_INSEE,
        "baseline": {"period": "2022", "value": "1200"},
        "targets": [{"period": "2023-Q4", "value": "1300"}, {"period": "2025-Q4", "value": "1500"}],
    }))
    .await;
    assert_eq!(
        complaints(&answer),
        expected(&[("/baseline/period", "PERIOD_DOES_NOT_FIT"), ("/targets/0/period", "TARGET_OUTSIDE_CONTRACT")])
    );

    // A baseline after a target.
    let mut late = coverage_follow_up();
    late["baseline"] = json!({"period": "2026", "value": "48"});
    assert_eq!(complaints(&post(late).await), expected(&[("/baseline/period", "BASELINE_AFTER_TARGET")]));

    // At most 40 targets.
    let mut many = coverage_follow_up();
    many["targets"] = (0..41).map(|i| json!({"period": format!("{}", 2024 + i % 5), "value": "50"})).collect();
    assert_eq!(complaints(&post(many).await), expected(&[("/targets", "TOO_MANY_TARGETS")]));

    // Places outside the contract: an EPCI, a commune and a département it does not cover.
    for (indicator, level, code) in [
        ("taux_couverture_eaje_epci", "epci", ANNECY_AGGLO),
        ("places_eaje", "commune", ANNECY_INSEE),
        ("taux_couverture_eaje_departement", "department", "33"),
    ] {
        let answer = post(json!({"indicator": indicator, "geo_level": level, "geo_code": code})).await;
        assert_eq!(
            complaints(&answer),
            expected(&[("/geo_code", "GEO_CODE_OUTSIDE_PERIMETER")]),
            "{level} {code}: {}",
            answer.text
        );
    }
    // Inside: its EPCI, a commune of that EPCI, its département.
    for (indicator, level, code) in
        [("places_eaje", "commune", FAUCIGNY_COMMUNE), ("taux_couverture_eaje_departement", "department", "74")]
    {
        let answer = post(json!({"indicator": indicator, "geo_level": level, "geo_code": code})).await;
        assert_eq!(answer.status, 201, "{level} {code}: {}", answer.text);
        assert_eq!((answer.body["baseline"].clone(), answer.body["targets"].clone()), (Value::Null, json!([])));
    }

    // Naming Annecy in the perimeter covers it, and brings in its EPCI.
    let contract_path = format!("/v1/contracts/{}", contract.id);
    let etag = app.etag(&contract_path).await;
    let widened = app
        .patch_json(
            &contract_path,
            &admin_token(),
            &etag,
            &json!({"perimeter": {"epcis": [FAUCIGNY], "communes": [ANNECY_INSEE]}}),
        )
        .await;
    assert_eq!(widened.status, 200, "{}", widened.text);
    for (indicator, level, code) in
        [("taux_couverture_eaje_epci", "epci", ANNECY_AGGLO), ("places_eaje", "commune", ANNECY_INSEE)]
    {
        let answer = post(json!({"indicator": indicator, "geo_level": level, "geo_code": code})).await;
        assert_eq!(answer.status, 201, "{level} {code}: {}", answer.text);
    }
    // But not the other communes of that EPCI.
    let answer = post(json!({"indicator": "places_eaje", "geo_level": "commune", "geo_code": "74282"})).await;
    assert_eq!(complaints(&answer), expected(&[("/geo_code", "GEO_CODE_OUTSIDE_PERIMETER")]));

    // Values are strings, never numbers; server-owned and catalogue fields are refused.
    let mut number = coverage_follow_up();
    number["targets"] = json!([{"period": "2025", "value": 53.5}]);
    post(number).await.assert_problem(400, "MALFORMED_REQUEST");
    for (field, value) in [("unit", json!("count")), ("ascending", json!(false)), ("version", json!(3))] {
        let mut body = coverage_follow_up();
        body[field] = value;
        let answer = post(body).await;
        assert_eq!(answer.assert_problem(400, "READ_ONLY_FIELD")["errors"][0]["pointer"], format!("/{field}"));
    }
    let mut unknown = coverage_follow_up();
    unknown["targets"][0]["actual"] = json!("50");
    assert_eq!(post(unknown).await.assert_problem(400, "UNKNOWN_FIELD")["errors"][0]["pointer"], "/targets/0/actual");

    // Nothing refused was written.
    let list = app.get(&path, &agent).await;
    let followed: BTreeSet<(String, String)> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["indicator"].as_str().unwrap().to_owned(), item["geo_code"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        followed,
        BTreeSet::from([
            ("places_eaje".to_owned(), FAUCIGNY_COMMUNE.to_owned()),
            ("places_eaje".to_owned(), ANNECY_INSEE.to_owned()),
            ("taux_couverture_eaje_departement".to_owned(), "74".to_owned()),
            ("taux_couverture_eaje_epci".to_owned(), ANNECY_AGGLO.to_owned()),
        ])
    );
}

#[tokio::test]
async fn an_indicator_is_followed_once_per_place() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    let path = indicators_of(&contract);
    app.create(&path, &coverage_follow_up()).await;
    let same_place = json!({"indicator": "taux_couverture_eaje_epci", "geo_level": "epci", "geo_code": FAUCIGNY});
    app.post_json(&path, &caf_agent_token(&["74"]), &same_place).await.assert_problem(409, "CONFLICT");
    // The same indicator elsewhere, or another contract at the same place, is another follow-up.
    for commune in [BONNEVILLE_INSEE, FAUCIGNY_COMMUNE] {
        app.create(&path, &json!({"indicator": "places_eaje", "geo_level": "commune", "geo_code": commune})).await;
    }
    let second = draft_ctg(&app, "74", &caf, &faucigny).await;
    app.create(&indicators_of(&second), &same_place).await;
    assert_eq!(app.get(&path, &admin_token()).await.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(app.get(&indicators_of(&second), &admin_token()).await.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_patch_replaces_the_targets_under_if_match_and_the_history_keeps_every_change() {
    let app = spawn_app().await;
    let contract = contract(&app).await;
    let agent = caf_agent_token(&["74"]);
    let created = app.create(&indicators_of(&contract), &coverage_follow_up()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", indicators_of(&contract));
    observe(&app, "taux_couverture_eaje_epci", "epci", FAUCIGNY, "2028", Some("60.5"));
    let replacement = json!({"targets": [{"period": "2028", "value": "60"}, {"period": "2026", "value": "55"}]});

    // No If-Match, then a stale one.
    let bare = app.send(app.client.patch(app.url(&path)).bearer_auth(&agent).json(&replacement)).await;
    bare.assert_problem(428, "PRECONDITION_REQUIRED");
    app.patch_json(&path, &agent, "\"7\"", &replacement).await.assert_problem(412, "PRECONDITION_FAILED");

    // The list sent replaces the whole list.
    let contract_etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;
    let patched = app.patch_json(&path, &agent, "\"1\"", &replacement).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.header("etag"), Some("\"2\""));
    assert_eq!(patched.body["version"], 2);
    assert_eq!(patched.body["baseline"], json!({"period": "2022", "value": "48"}), "the baseline stays");
    assert_eq!(
        targets(&patched.body),
        vec![
            target("2026", "55", Value::Null, false, Value::Null, Value::Null),
            // (60.5 - 48) / (60 - 48) = 104.1666… %.
            target("2028", "60", json!("60.5"), false, json!("104.2"), json!(true)),
        ]
    );
    assert_ne!(app.etag(&format!("/v1/contracts/{}", contract.id)).await, contract_etag);
    app.patch_json(&path, &agent, "\"1\"", &replacement).await.assert_problem(412, "PRECONDITION_FAILED");

    // The baseline must stay before the targets: the complaint points at what is sent.
    let answer = app.patch_json(&path, &agent, "\"2\"", &json!({"baseline": {"period": "2027", "value": "50"}})).await;
    assert_eq!(complaints(&answer), expected(&[("/baseline/period", "BASELINE_AFTER_TARGET")]));
    let answer = app
        .patch_json(
            &path,
            &agent,
            "\"2\"",
            &json!({"targets": [{"period": "2024", "value": "50"}, {"period": "2022", "value": "47"}]}),
        )
        .await;
    assert_eq!(
        complaints(&answer),
        expected(&[("/targets/1/period", "BASELINE_AFTER_TARGET"), ("/targets/1/period", "TARGET_OUTSIDE_CONTRACT")])
    );
    // What is followed, and where, stays.
    for (field, value) in
        [("indicator", json!("places_eaje")), ("geo_code", json!(BONNEVILLE_INSEE)), ("geo_level", json!("commune"))]
    {
        let answer = app.patch_json(&path, &agent, "\"2\"", &json!({field: value})).await;
        assert_eq!(answer.assert_problem(400, "READ_ONLY_FIELD")["errors"][0]["pointer"], format!("/{field}"));
    }

    // Removing the baseline leaves no progress to compute.
    let cleared = app.patch_json(&path, &agent, "\"2\"", &json!({"baseline": null})).await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert_eq!(cleared.body["baseline"], Value::Null);
    assert_eq!(cleared.body["targets"][1]["progress_percent"], Value::Null);
    assert_eq!(cleared.body["targets"][1]["achieved"], true);

    // Deleting needs the current version too.
    let bare = app.send(app.client.delete(app.url(&path)).bearer_auth(&agent)).await;
    bare.assert_problem(428, "PRECONDITION_REQUIRED");
    app.delete_with(&path, &agent, "\"2\"").await.assert_problem(412, "PRECONDITION_FAILED");
    let deleted = app.delete_with(&path, &agent, "\"3\"").await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    app.get(&path, &agent).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.get(&indicators_of(&contract), &agent).await.body["items"], json!([]));

    // Every change is in the contract's history, as its writers set it.
    let history = app.get(&format!("/v1/contracts/{}/history?page_size=200", contract.id), &admin_token()).await;
    let entries: Vec<&Value> =
        history.body["items"].as_array().unwrap().iter().filter(|e| e["resource"] == "contract_indicator").collect();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "updated", "updated", "deleted"], "{}", history.text);
    assert!(entries.iter().all(|e| e["resource_id"] == id.as_str()));
    assert_eq!(entries[0]["before"], Value::Null);
    assert_eq!(
        entries[0]["after"]["targets"],
        json!([{"period": "2025", "value": "53"}, {"period": "2026", "value": "56"}, {"period": "2027", "value": "58"}])
    );
    assert_eq!(entries[1]["before"]["targets"], entries[0]["after"]["targets"]);
    assert_eq!(
        entries[1]["after"]["targets"],
        json!([{"period": "2026", "value": "55"}, {"period": "2028", "value": "60"}])
    );
    assert_eq!(
        (entries[1]["actor"]["role"].as_str(), entries[1]["after"]["version"].as_i64()),
        (Some("caf_agent"), Some(2))
    );
    assert_eq!(entries[2]["after"]["baseline"], Value::Null);
    assert_eq!(entries[3]["before"]["version"], 3);
    assert_eq!(entries[3]["after"], Value::Null);
}

#[tokio::test]
async fn a_collectivity_party_reads_but_does_not_write_and_other_departements_see_nothing() {
    let app = spawn_app().await;
    let contract = contract(&app).await;
    let list = indicators_of(&contract);
    let created = app.create(&list, &coverage_follow_up()).await;
    let one = format!("{list}/{}", created["id"].as_str().unwrap());
    let patch = json!({"targets": []});
    let body = json!({"indicator": "taux_couverture_eaje_departement", "geo_level": "department", "geo_code": "74"});

    // The collectivity party to the contract, and an integration of 74, read and may not write.
    let mut integration = claims("integration");
    integration.departments = vec!["74".to_owned()];
    for token in [collectivity_token(&[FAUCIGNY]), token_for(&integration)] {
        assert_eq!(app.get(&list, &token).await.status, 200);
        let read = app.get(&one, &token).await;
        assert_eq!(read.body, created, "{}", read.text);
        app.post_json(&list, &token, &body).await.assert_problem(403, "FORBIDDEN");
        app.patch_json(&one, &token, "\"1\"", &patch).await.assert_problem(403, "FORBIDDEN");
        app.delete_with(&one, &token, "\"1\"").await.assert_problem(403, "FORBIDDEN");
    }

    // Another département's agent, and a collectivity not party to it, find nothing at all.
    for token in [caf_agent_token(&["33"]), collectivity_token(&[ANNECY_AGGLO])] {
        app.get(&list, &token).await.assert_problem(404, "NOT_FOUND");
        app.get(&one, &token).await.assert_problem(404, "NOT_FOUND");
        app.post_json(&list, &token, &body).await.assert_problem(404, "NOT_FOUND");
        app.patch_json(&one, &token, "\"1\"", &patch).await.assert_problem(404, "NOT_FOUND");
        app.delete_with(&one, &token, "\"1\"").await.assert_problem(404, "NOT_FOUND");
    }
    assert_eq!(app.get(&one, &admin_token()).await.body, created, "a refused write changed it");

    // A cancelled contract's follow-up no longer changes.
    let cancelled =
        app.transition(&contract.id, &admin_token(), &json!({"action": "cancel", "reason": "Abandon"})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    app.post_json(&list, &admin_token(), &body).await.assert_problem(409, "CONFLICT");
    app.patch_json(&one, &admin_token(), "\"1\"", &patch).await.assert_problem(409, "CONFLICT");
}
