//! The bonus rate table (`/v1/bonus-rates/{year}`): reference data every role reads and admins
//! replace whole, under `If-Match`; and the commitments it prices: a new-places bonus is
//! `units × rate(year, programme, band)`, to the cent, while every bonus territoire names a
//! facility of its type, run by the payee, that holds its places.

use serde_json::{Value, json};

use crate::fixtures::{BONNEVILLE_INSEE, ContractFixture, FAUCIGNY, caf, draft_ctg, eaje, epci};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

/// PUTs `rates` as the table of `year`, with `if_match` when given, as `token`.
async fn put_rates(app: &TestApp, year: &str, token: &str, if_match: Option<&str>, rates: &Value) -> Answer {
    let mut request = app.client.put(app.url(&format!("/v1/bonus-rates/{year}"))).bearer_auth(token);
    if let Some(etag) = if_match {
        request = request.header("If-Match", etag);
    }
    app.send(request.json(&json!({"rates": rates}))).await
}

/// The table of `year` as the admin last set it, set now with one EAJE rate per band 1 to 5 if
/// the year has none.
pub async fn ensure_rate_table(app: &TestApp, year: i32) {
    if app.get(&format!("/v1/bonus-rates/{year}"), &admin_token()).await.status == 404 {
        let rates: Vec<Value> = (1..=5)
            .map(|band| json!({"programme": "bonus_territoire_eaje", "band": band, "per_place_cents": 380_000 - 20_000 * band}))
            .collect();
        let answer = put_rates(app, &year.to_string(), &admin_token(), None, &json!(rates)).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
}

/// `(pointer, code)` of each error of a 422, in order.
fn errors(answer: &Answer) -> Vec<(String, String)> {
    let mut errors: Vec<(String, String)> = answer.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["pointer"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    errors.sort();
    errors
}

/// The errors expected, in the order of [`errors`].
fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        expected.iter().map(|(pointer, code)| ((*pointer).to_owned(), (*code).to_owned())).collect();
    pairs.sort();
    pairs
}

/// The detail of the error at `pointer` with `code`.
fn detail_of(answer: &Answer, pointer: &str, code: &str) -> String {
    answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pointer"] == pointer && e["code"] == code)
        .unwrap_or_else(|| panic!("no {code} at {pointer}: {}", answer.text))["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn admins_replace_a_year_s_table_whole_under_if_match_and_everyone_reads_it() {
    let app = spawn_app().await;
    let path = "/v1/bonus-rates/2025";
    app.get(path, &admin_token()).await.assert_problem(404, "NOT_FOUND");
    let first = json!([
        {"programme": "bonus_territoire_rpe", "band": 2, "per_place_cents": 120_000},
        {"programme": "bonus_territoire_eaje", "band": 2, "per_place_cents": 340_000},
        {"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 360_000},
    ]);

    // If-Match names a current representation: a year without a table has none (RFC 9110).
    put_rates(&app, "2025", &admin_token(), Some("\"1\""), &first).await.assert_problem(412, "PRECONDITION_FAILED");
    put_rates(&app, "2025", &admin_token(), Some("*"), &first).await.assert_problem(412, "PRECONDITION_FAILED");
    for token in [caf_agent_token(&["74"]), collectivity_token(&[FAUCIGNY])] {
        put_rates(&app, "2025", &token, None, &first).await.assert_problem(403, "FORBIDDEN");
    }
    app.get(path, &admin_token()).await.assert_problem(404, "NOT_FOUND");

    let created = put_rates(&app, "2025", &admin_token(), None, &first).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("location"), Some(path));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["year"], 2025);
    assert_eq!(created.body["version"], 1);
    assert_eq!(
        created.body["rates"],
        json!([
            {"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 360_000},
            {"programme": "bonus_territoire_eaje", "band": 2, "per_place_cents": 340_000},
            {"programme": "bonus_territoire_rpe", "band": 2, "per_place_cents": 120_000},
        ]),
        "by programme and band"
    );
    for token in [admin_token(), caf_agent_token(&["33"]), collectivity_token(&[FAUCIGNY])] {
        let read = app.get(path, &token).await;
        assert_eq!((read.status, read.header("etag")), (200, Some("\"1\"")), "{}", read.text);
        assert_eq!(read.body, created.body);
    }

    // Once it exists, a change says which version it replaces.
    let second = json!([{"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 365_000}]);
    put_rates(&app, "2025", &admin_token(), None, &second).await.assert_problem(428, "PRECONDITION_REQUIRED");
    put_rates(&app, "2025", &admin_token(), Some("\"0\""), &second).await.assert_problem(412, "PRECONDITION_FAILED");
    put_rates(&app, "2025", &caf_agent_token(&["74"]), Some("\"0\""), &second).await.assert_problem(403, "FORBIDDEN");
    let replaced = put_rates(&app, "2025", &admin_token(), Some("\"1\""), &second).await;
    assert_eq!((replaced.status, replaced.header("etag")), (200, Some("\"2\"")), "{}", replaced.text);
    assert_eq!(replaced.body["rates"], second, "the whole table is replaced");
    assert_eq!(app.get(path, &admin_token()).await.body, replaced.body);
    put_rates(&app, "2025", &admin_token(), Some("\"1\""), &first).await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(app.get(path, &admin_token()).await.body, replaced.body, "a stale write changed nothing");

    // Years are kept apart, and only 2000 to 2100 have an address.
    app.get("/v1/bonus-rates/2026", &admin_token()).await.assert_problem(404, "NOT_FOUND");
    for year in ["1999", "2101", "20x5", "-2025"] {
        app.get(&format!("/v1/bonus-rates/{year}"), &admin_token()).await.assert_problem(404, "NOT_FOUND");
        put_rates(&app, year, &admin_token(), None, &second).await.assert_problem(404, "NOT_FOUND");
    }

    // The feed carries the table after each change, to every role: it is reference data.
    let feed = app.get("/v1/events?limit=100", &caf_agent_token(&["33"])).await;
    assert_eq!(feed.status, 200, "{}", feed.text);
    let changes: Vec<(&str, &Value)> = feed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["type"].as_str().unwrap().starts_with("bonus_rates."))
        .map(|event| (event["type"].as_str().unwrap(), &event["data"]))
        .collect();
    assert_eq!(changes, vec![("bonus_rates.created", &created.body), ("bonus_rates.updated", &replaced.body)]);
}

#[tokio::test]
async fn a_rate_table_says_every_mistake_at_once_and_writes_nothing() {
    let app = spawn_app().await;
    let broken = json!([
        {"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 360_000},
        {"programme": "psej", "band": 0, "per_place_cents": 0},
        {"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 350_000},
        {"programme": "bonus_territoire_jeunes", "band": 21, "per_place_cents": 1_000_000_000_001_i64},
    ]);
    let answer = put_rates(&app, "2025", &admin_token(), None, &broken).await;
    assert_eq!(
        errors(&answer),
        pairs(&[
            ("/rates/1/programme", "NOT_A_BONUS_PROGRAMME"),
            ("/rates/1/band", "RANGE"),
            ("/rates/1/per_place_cents", "RANGE"),
            ("/rates/2/band", "DUPLICATE"),
            ("/rates/3/band", "RANGE"),
            ("/rates/3/per_place_cents", "RANGE"),
        ])
    );
    assert_eq!(
        detail_of(&answer, "/rates/2/band", "DUPLICATE"),
        "bonus_territoire_eaje band 1 is already rated at /rates/0"
    );
    let answer = put_rates(&app, "2025", &admin_token(), None, &json!([])).await;
    assert_eq!(errors(&answer), pairs(&[("/rates", "LENGTH")]));
    let answer = put_rates(
        &app,
        "2025",
        &admin_token(),
        None,
        &json!([{"programme": "bonus", "band": 1, "per_place_cents": 1}]),
    )
    .await;
    answer.assert_problem(400, "MALFORMED_REQUEST");
    let answer = put_rates(
        &app,
        "2025",
        &admin_token(),
        None,
        &json!([{"programme": "bonus_territoire_eaje", "band": 1, "per_place_cents": 1.5}]),
    )
    .await;
    answer.assert_problem(400, "MALFORMED_REQUEST");
    app.get("/v1/bonus-rates/2025", &admin_token()).await.assert_problem(404, "NOT_FOUND");

    // A refused replacement keeps the table as it was.
    ensure_rate_table(&app, 2025).await;
    let before = app.get("/v1/bonus-rates/2025", &admin_token()).await.body;
    put_rates(&app, "2025", &admin_token(), Some("\"1\""), &broken).await.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(app.get("/v1/bonus-rates/2025", &admin_token()).await.body, before);
}

/// A draft CTG of 74 over Faucigny whose EPCI is also payee; in `bonus_band` when given.
async fn contract_in_band(app: &TestApp, bonus_band: Option<i64>) -> ContractFixture {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    let contract = draft_ctg(app, "74", &caf, &faucigny).await;
    let party = format!("/v1/contracts/{}/parties/{}", contract.id, contract.epci_party);
    let etag = app.etag(&party).await;
    let answer =
        app.patch_json(&party, &admin_token(), &etag, &json!({"roles": ["signatory", "pilot", "payee"]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    if let Some(band) = bonus_band {
        let path = format!("/v1/contracts/{}", contract.id);
        let etag = app.etag(&path).await;
        let answer = app.patch_json(&path, &admin_token(), &etag, &json!({"bonus_band": band})).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    contract
}

/// A bonus territoire EAJE for `units` new places of `equipment`, for `years`.
fn new_places(contract: &ContractFixture, equipment: &str, units: i64, years: &Value) -> Value {
    json!({"payee_id": contract.epci_organisation, "equipment_id": equipment, "programme": "bonus_territoire_eaje",
           "basis": "per_place", "origin": "new", "units": units, "years": years})
}

async fn commitments_of(app: &TestApp, contract: &ContractFixture) -> Vec<Value> {
    let list = app.get(&format!("/v1/contracts/{}/funding-commitments", contract.id), &admin_token()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    list.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn new_places_are_units_times_the_year_s_rate_to_the_cent() {
    let app = spawn_app().await;
    let band_3 = |cents: i64| json!({"programme": "bonus_territoire_eaje", "band": 3, "per_place_cents": cents});
    let rates_2025 = json!([band_3(360_000), {"programme": "bonus_territoire_eaje", "band": 4, "per_place_cents": 1}]);
    assert_eq!(put_rates(&app, "2025", &admin_token(), None, &rates_2025).await.status, 201);
    assert_eq!(put_rates(&app, "2026", &admin_token(), None, &json!([band_3(361_111)])).await.status, 201);

    // No band on the contract: nothing to price the places with.
    let contract = contract_in_band(&app, None).await;
    let crèche = eaje(&app, &contract.epci_organisation, BONNEVILLE_INSEE, 30).await;
    let path = format!("/v1/contracts/{}/funding-commitments", contract.id);
    let answer =
        app.post_json(&path, &admin_token(), &new_places(&contract, &crèche, 12, &json!([{"year": 2025}]))).await;
    assert_eq!(errors(&answer), pairs(&[("/origin", "BONUS_BAND_MISSING")]));
    let etag = app.etag(&format!("/v1/contracts/{}", contract.id)).await;
    let banded = app
        .patch_json(&format!("/v1/contracts/{}", contract.id), &admin_token(), &etag, &json!({"bonus_band": 3}))
        .await;
    assert_eq!(banded.status, 200, "{}", banded.text);

    // Every mistake at once: places above capacity, an amount that is not the rate's, a year the
    // table does not price, a unit amount that is not the first year's rate.
    let mut body = new_places(
        &contract,
        &crèche,
        31,
        &json!([{"year": 2025, "amount_cents": 11_160_000}, {"year": 2026, "amount_cents": 11_194_440}, {"year": 2027}]),
    );
    body["unit_amount_cents"] = json!(361_111);
    let answer = app.post_json(&path, &admin_token(), &body).await;
    assert_eq!(
        errors(&answer),
        pairs(&[
            ("/units", "ABOVE_CAPACITY"),
            ("/years/1/amount_cents", "AMOUNT_NOT_FROM_RATES"),
            ("/years/2/year", "NO_BONUS_RATE"),
            ("/unit_amount_cents", "AMOUNT_NOT_FROM_RATES"),
        ])
    );
    assert_eq!(
        detail_of(&answer, "/units", "ABOVE_CAPACITY"),
        "31 places is above the equipment's capacity of 30 places"
    );
    assert_eq!(
        detail_of(&answer, "/years/1/amount_cents", "AMOUNT_NOT_FROM_RATES"),
        "31 places × 361111 cents (the 2026 rate at band 3) = 11194441 cents"
    );
    assert_eq!(
        detail_of(&answer, "/years/2/year", "NO_BONUS_RATE"),
        "the rate table of 2027 has no rate for bonus_territoire_eaje at band 3: new places cannot be funded \
         that year until an admin sets it"
    );
    assert!(commitments_of(&app, &contract).await.is_empty(), "nothing written on a refusal");

    // 12 places: 12 × 3 600,00 € in 2025, 12 × 3 611,11 € in 2026, computed by the server.
    let body = new_places(&contract, &crèche, 12, &json!([{"year": 2025}, {"year": 2026, "amount_cents": 4_333_332}]));
    let created = app.post_json(&path, &admin_token(), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let years = |view: &Value| -> Vec<(i64, i64)> {
        view["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| (y["year"].as_i64().unwrap(), y["amount_cents"].as_i64().unwrap()))
            .collect()
    };
    assert_eq!(years(&created.body), vec![(2025, 4_320_000), (2026, 4_333_332)]);
    assert_eq!(created.body["unit_amount_cents"], 360_000, "the first year's rate");
    assert_eq!(created.body["total_cents"], 8_653_332);
    assert_eq!(created.body["money_origin"], "new_places");
    let commitment = format!("/v1/funding-commitments/{}", created.body["id"].as_str().unwrap());

    // A change of places prices them again; a refused one changes nothing.
    let etag = app.etag(&commitment).await;
    let answer = app.patch_json(&commitment, &admin_token(), &etag, &json!({"units": 40})).await;
    assert_eq!(errors(&answer), pairs(&[("/units", "ABOVE_CAPACITY")]));
    let answer =
        app.patch_json(&commitment, &admin_token(), &etag, &json!({"years": [{"year": 2025}, {"year": 2027}]})).await;
    assert_eq!(errors(&answer), pairs(&[("/years/1/year", "NO_BONUS_RATE")]));
    assert_eq!(app.get(&commitment, &admin_token()).await.body, created.body);
    let answer = app.patch_json(&commitment, &admin_token(), &etag, &json!({"units": 20})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(years(&answer.body), vec![(2025, 7_200_000), (2026, 7_222_220)]);
    assert_eq!(answer.body["unit_amount_cents"], 360_000);

    // A new 2025 rate prices the commitments made after it, and those whose places change; a
    // change that touches nothing priced keeps the amounts as they were computed.
    let etag = app.etag("/v1/bonus-rates/2025").await;
    let answer = put_rates(&app, "2025", &admin_token(), Some(&etag), &json!([band_3(370_000)])).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let etag = app.etag(&commitment).await;
    let answer = app.patch_json(&commitment, &admin_token(), &etag, &json!({"decision_date": "2025-01-15"})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(years(&answer.body), vec![(2025, 7_200_000), (2026, 7_222_220)]);
    let etag = app.etag(&commitment).await;
    let answer =
        app.patch_json(&commitment, &admin_token(), &etag, &json!({"units": 21, "unit_amount_cents": null})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(years(&answer.body), vec![(2025, 7_770_000), (2026, 7_583_331)]);
    assert_eq!(answer.body["unit_amount_cents"], 370_000);

    // Money that is not new places is sent, not computed.
    let mut ex_cej = new_places(&contract, &crèche, 12, &json!([{"year": 2025}]));
    ex_cej["origin"] = json!("ex_cej");
    let answer = app.post_json(&path, &admin_token(), &ex_cej).await;
    assert_eq!(errors(&answer), pairs(&[("/years/0/amount_cents", "REQUIRED")]));
    assert_eq!(commitments_of(&app, &contract).await.len(), 1);
}

#[tokio::test]
async fn a_programme_funds_the_facilities_of_its_type_run_by_the_payee() {
    let app = spawn_app().await;
    let contract = contract_in_band(&app, Some(3)).await;
    let path = format!("/v1/contracts/{}/funding-commitments", contract.id);
    let manager = contract.epci_organisation.clone();
    let crèche = eaje(&app, &manager, BONNEVILLE_INSEE, 30).await;
    let centre = |kind: &str, places: Option<i64>| {
        json!({"type": kind, "name": format!("Accueil {kind}"), "manager_id": manager, "commune": BONNEVILLE_INSEE,
               "capacity_places": places})
    };
    let id_of = |value: Value| value["id"].as_str().unwrap().to_owned();
    let alsh = id_of(app.create("/v1/equipments", &centre("alsh_extrascolaire", Some(80))).await);
    let uncounted = id_of(app.create("/v1/equipments", &centre("eaje", None)).await);
    let other_manager = app.create("/v1/organisations", &json!({"kind": "commune", "siren": "217400423"})).await;
    let theirs = eaje(&app, other_manager["id"].as_str().unwrap(), BONNEVILLE_INSEE, 30).await;
    let bonus = |programme: &str, equipment: Option<&str>, units: Option<i64>| {
        json!({"payee_id": contract.epci_organisation, "equipment_id": equipment, "programme": programme,
               "basis": "per_place", "origin": "ex_cej", "units": units,
               "years": [{"year": 2025, "amount_cents": 1_000_000}]})
    };

    let answer = app.post_json(&path, &admin_token(), &bonus("bonus_territoire_eaje", None, None)).await;
    assert_eq!(errors(&answer), pairs(&[("/equipment_id", "REQUIRED"), ("/units", "REQUIRED")]));
    let answer = app.post_json(&path, &admin_token(), &bonus("bonus_territoire_alsh", Some(&theirs), Some(31))).await;
    assert_eq!(
        errors(&answer),
        pairs(&[
            ("/equipment_id", "EQUIPMENT_OF_ANOTHER_MANAGER"),
            ("/equipment_id", "EQUIPMENT_TYPE_MISMATCH"),
            ("/units", "ABOVE_CAPACITY"),
        ])
    );
    assert_eq!(
        detail_of(&answer, "/equipment_id", "EQUIPMENT_TYPE_MISMATCH"),
        "bonus_territoire_alsh funds facilities of type alsh_periscolaire or alsh_extrascolaire; \
         this equipment is of type eaje"
    );
    let answer = app.post_json(&path, &admin_token(), &bonus("bonus_territoire_eaje", Some(&uncounted), Some(5))).await;
    assert_eq!(errors(&answer), pairs(&[("/units", "NO_CAPACITY")]));
    // The PSEJ is the CEJ's money: a CTG carries it on as a bonus territoire.
    let answer = app.post_json(&path, &admin_token(), &bonus("psej", Some(&crèche), Some(10))).await;
    assert_eq!(errors(&answer), pairs(&[("/programme", "PROGRAMME_NOT_FOR_CONTRACT")]));
    assert!(commitments_of(&app, &contract).await.is_empty(), "nothing written on a refusal");

    let created = app.post_json(&path, &admin_token(), &bonus("bonus_territoire_alsh", Some(&alsh), Some(80))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let commitment = format!("/v1/funding-commitments/{}", created.body["id"].as_str().unwrap());
    let etag = app.etag(&commitment).await;
    let answer = app.patch_json(&commitment, &admin_token(), &etag, &json!({"equipment_id": crèche})).await;
    assert_eq!(errors(&answer), pairs(&[("/equipment_id", "EQUIPMENT_TYPE_MISMATCH"), ("/units", "ABOVE_CAPACITY")]));
    let answer = app.patch_json(&commitment, &admin_token(), &etag, &json!({"equipment_id": null})).await;
    assert_eq!(errors(&answer), pairs(&[("/equipment_id", "REQUIRED")]));
    assert_eq!(app.get(&commitment, &admin_token()).await.body, created.body);

    // Under a CEJ, the PSEJ names the facility whose money a CTG will carry on; no bonus exists.
    let cej = app
        .create(
            "/v1/contracts",
            &json!({"kind": "cej", "title": "CEJ Faucigny 2019-2022", "department": "74", "start_date": "2019-01-01",
                    "end_date": "2022-12-31", "fields": ["enfance"], "perimeter": {"epcis": [FAUCIGNY]}}),
        )
        .await;
    let cej_commitments = format!("/v1/contracts/{}/funding-commitments", cej["id"].as_str().unwrap());
    app.create(
        &format!("/v1/contracts/{}/parties", cej["id"].as_str().unwrap()),
        &json!({"organisation_id": contract.epci_organisation, "roles": ["signatory", "payee"]}),
    )
    .await;
    let psej = |equipment: Option<&str>| {
        json!({"payee_id": contract.epci_organisation, "equipment_id": equipment, "programme": "psej",
               "basis": "lump_sum", "origin": "new", "years": [{"year": 2021, "amount_cents": 2_500_000}]})
    };
    let answer = app.post_json(&cej_commitments, &admin_token(), &psej(None)).await;
    assert_eq!(errors(&answer), pairs(&[("/equipment_id", "REQUIRED")]));
    let mut cej_bonus = bonus("bonus_territoire_eaje", Some(&crèche), Some(10));
    cej_bonus["years"] = json!([{"year": 2021, "amount_cents": 1_000}]);
    let answer = app.post_json(&cej_commitments, &admin_token(), &cej_bonus).await;
    assert_eq!(errors(&answer), pairs(&[("/programme", "PROGRAMME_NOT_FOR_CONTRACT")]));
    let answer = app.post_json(&cej_commitments, &admin_token(), &psej(Some(&crèche))).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}
