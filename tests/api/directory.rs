//! Organisations and equipments: identifiers checked against the reference, one CAF per
//! département, no dangling references, writes scoped to the caller's départements.

use serde_json::json;

use crate::fixtures::{BONNEVILLE_INSEE, BONNEVILLE_SIREN, BORDEAUX_METROPOLE, FAUCIGNY, caf, draft_ctg, epci};
use crate::helpers::{admin_token, caf_agent_token, collectivity_token, spawn_app};

#[tokio::test]
async fn communes_and_epcis_take_their_name_and_place_from_the_reference() {
    let app = spawn_app().await;
    let bonneville = app.create("/v1/organisations", &json!({"kind": "commune", "siren": BONNEVILLE_SIREN})).await;
    assert_eq!(
        (bonneville["name"].as_str(), bonneville["department"].as_str(), bonneville["insee_code"].as_str()),
        (Some("Bonneville"), Some("74"), Some(BONNEVILLE_INSEE))
    );
    let faucigny = epci(&app, FAUCIGNY).await;
    assert_eq!(
        (faucigny["name"].as_str(), faucigny["department"].as_str()),
        (Some("CC Faucigny - Glières"), Some("74"))
    );

    let answer =
        app.post_json("/v1/organisations", &admin_token(), &json!({"kind": "commune", "siren": "200000172"})).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "SIREN_OF_AN_EPCI");
    let answer =
        app.post_json("/v1/organisations", &admin_token(), &json!({"kind": "commune", "siren": "775672272"})).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "SIREN_NOT_IN_REFERENCE");
    let answer = app
        .post_json(
            "/v1/organisations",
            &admin_token(),
            &json!({"kind": "association", "name": "Asso", "siren": "123456789"}),
        )
        .await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "INVALID_SIREN_CHECKSUM");
    let answer =
        app.post_json("/v1/organisations", &admin_token(), &json!({"kind": "association", "name": "Asso"})).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/siren");
    let other = app.create("/v1/organisations", &json!({"kind": "other", "name": "Collectif de parents"})).await;
    assert!(other["siren"].is_null());
    let answer = app
        .post_json("/v1/organisations", &admin_token(), &json!({"kind": "commune", "siren": BONNEVILLE_SIREN}))
        .await;
    answer.assert_problem(409, "CONFLICT");
}

#[tokio::test]
async fn one_caf_per_departement() {
    let app = spawn_app().await;
    caf(&app, "74").await;
    let answer = app
        .post_json(
            "/v1/organisations",
            &admin_token(),
            &json!({"kind": "caf", "name": "Autre CAF", "siren": "534083662", "department": "74"}),
        )
        .await;
    answer.assert_problem(409, "CONFLICT");
    let answer = app
        .post_json(
            "/v1/organisations",
            &admin_token(),
            &json!({"kind": "caf", "name": "CAF sans département", "siren": "534083662"}),
        )
        .await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["pointer"], "/department");
}

#[tokio::test]
async fn an_organisation_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    draft_ctg(&app, "74", &caf, &faucigny).await;
    let path = format!("/v1/organisations/{}", faucigny["id"].as_str().unwrap());
    let answer = app.delete_with(&path, &admin_token(), "\"1\"").await;
    answer.assert_problem(409, "CONFLICT");
    let unused = app.create("/v1/organisations", &json!({"kind": "commune", "siren": BONNEVILLE_SIREN})).await;
    let path = format!("/v1/organisations/{}", unused["id"].as_str().unwrap());
    app.delete_with(&path, &admin_token(), "\"2\"").await.assert_problem(412, "PRECONDITION_FAILED");
    assert_eq!(app.delete_with(&path, &admin_token(), "\"1\"").await.status, 204);
    app.get(&path, &admin_token()).await.assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_commune_or_an_epci_is_registered_only_as_itself_in_its_own_departement() {
    let app = spawn_app().await;
    let gironde = caf_agent_token(&["33"]);
    // Another département's EPCI and commune, passed off as associations of Gironde.
    for (siren, code) in [(FAUCIGNY, "SIREN_OF_AN_EPCI"), (BONNEVILLE_SIREN, "SIREN_OF_A_COMMUNE")] {
        let body = json!({"kind": "association", "name": "Les amis du Faucigny", "siren": siren, "department": "33"});
        let answer = app.post_json("/v1/organisations", &gironde, &body).await;
        assert_eq!(answer.validation_errors(), [("/kind", code)], "{siren}");
    }
    // As what it is, it lies in its own département, which is not the agent's.
    let answer = app.post_json("/v1/organisations", &gironde, &json!({"kind": "epci", "siren": FAUCIGNY})).await;
    answer.assert_problem(403, "FORBIDDEN");
    // Its real owner registers it.
    let answer = app
        .post_json("/v1/organisations", &caf_agent_token(&["74"]), &json!({"kind": "epci", "siren": FAUCIGNY}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

#[tokio::test]
async fn a_refused_deletion_counts_only_what_the_caller_reaches() {
    let app = spawn_app().await;
    let faucigny = epci(&app, FAUCIGNY).await;
    // The Faucigny is an associated partner of two contracts of Gironde, out of a 74 agent's sight.
    let caf33 = caf(&app, "33").await;
    let bordeaux = epci(&app, BORDEAUX_METROPOLE).await;
    for _ in 0..2 {
        let contract = draft_ctg(&app, "33", &caf33, &bordeaux).await;
        let parties = format!("/v1/contracts/{}/parties", contract.id);
        app.create(&parties, &json!({"organisation_id": faucigny["id"], "roles": ["associated_partner"]})).await;
    }
    let path = format!("/v1/organisations/{}", faucigny["id"].as_str().unwrap());
    let agent = caf_agent_token(&["74"]);
    let answer = app.delete_with(&path, &agent, "\"1\"").await;
    let detail = answer.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("party to 0 contract(s)") && detail.contains("outside it"), "{detail}");
    assert!(!detail.contains('2'), "{detail}");
    // The admin reaches everything: the counts are whole, and nothing is said to lie outside.
    let answer = app.delete_with(&path, &admin_token(), "\"1\"").await;
    let detail = answer.assert_problem(409, "CONFLICT")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("party to 2 contract(s)") && !detail.contains("outside"), "{detail}");
}

#[tokio::test]
async fn a_caf_agent_writes_the_directory_of_its_departements_only() {
    let app = spawn_app().await;
    let agent = caf_agent_token(&["74"]);
    let answer =
        app.post_json("/v1/organisations", &agent, &json!({"kind": "commune", "siren": BONNEVILLE_SIREN})).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    // Bordeaux (33).
    let answer = app.post_json("/v1/organisations", &agent, &json!({"kind": "commune", "siren": "213300635"})).await;
    answer.assert_problem(403, "FORBIDDEN");
    let bordeaux = app.create("/v1/organisations", &json!({"kind": "commune", "siren": "213300635"})).await;
    let path = format!("/v1/organisations/{}", bordeaux["id"].as_str().unwrap());
    app.patch_json(&path, &agent, "\"1\"", &json!({"name": "x"})).await.assert_problem(403, "FORBIDDEN");
    // Moving one of its own entries to another département is refused too.
    let own = answer_id(&app.get(&format!("/v1/organisations?siren={BONNEVILLE_SIREN}"), &agent).await.body);
    let path = format!("/v1/organisations/{own}");
    let answer = app
        .patch_json(
            &path,
            &agent,
            "\"1\"",
            &json!({"kind": "association", "siren": "775672272", "department": "33", "insee_code": null}),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    // Everyone reads the directory; a collectivity writes none of it.
    let reader = collectivity_token(&[BONNEVILLE_SIREN]);
    assert_eq!(app.get(&format!("/v1/organisations/{own}"), &reader).await.status, 200);
    app.post_json("/v1/organisations", &reader, &json!({"kind": "commune", "siren": BONNEVILLE_SIREN}))
        .await
        .assert_problem(403, "FORBIDDEN");
}

fn answer_id(page: &serde_json::Value) -> String {
    page["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn organisations_filter_and_page() {
    let app = spawn_app().await;
    caf(&app, "74").await;
    caf(&app, "33").await;
    epci(&app, FAUCIGNY).await;
    let cafs = app.get("/v1/organisations?kind=caf", &admin_token()).await;
    assert_eq!(cafs.body["items"].as_array().unwrap().len(), 2);
    let in_74 = app.get("/v1/organisations?department=74", &admin_token()).await;
    assert_eq!(in_74.body["items"].as_array().unwrap().len(), 2);
    let found = app.get("/v1/organisations?q=glieres", &admin_token()).await;
    assert_eq!(found.body["items"][0]["siren"], FAUCIGNY);
    let first = app.get("/v1/organisations?page_size=2", &admin_token()).await;
    let token = first.body["next_page_token"].as_str().unwrap();
    let rest = app.get(&format!("/v1/organisations?page_size=2&page_token={token}"), &admin_token()).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn equipments_belong_to_a_manager_and_a_commune() {
    let app = spawn_app().await;
    let manager = app.create("/v1/organisations", &json!({"kind": "commune", "siren": BONNEVILLE_SIREN})).await;
    let body = json!({"type": "eaje", "name": "Crèche Les Petits Pas", "manager_id": manager["id"], "commune": BONNEVILLE_INSEE, "capacity_places": 40, "siret": "21740042300014"});
    let answer = app.post_json("/v1/equipments", &admin_token(), &body).await;
    // 21740042300014 is not Luhn-valid; find the valid establishment number of Bonneville's SIREN.
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "INVALID_SIRET_CHECKSUM");
    let siret = (0..100)
        .map(|nic| format!("{BONNEVILLE_SIREN}{nic:05}"))
        .find(|siret| ctg_api::domain::identifiers::check_siret(siret).is_ok())
        .unwrap();
    let mut valid = body.clone();
    valid["siret"] = json!(siret);
    let created = app.create("/v1/equipments", &valid).await;
    assert_eq!((created["department"].as_str(), created["type"].as_str()), (Some("74"), Some("eaje")));

    let mut foreign = valid.clone();
    foreign["siret"] = json!("20000017200003");
    foreign["commune"] = json!("99999");
    foreign["closed_on"] = json!("2020-01-01");
    foreign["opened_on"] = json!("2021-01-01");
    foreign["capacity_places"] = json!(-1);
    let answer = app.post_json("/v1/equipments", &admin_token(), &foreign).await;
    // Range rules are checked first, then the reference: -1 places fails on its own.
    answer.assert_problem(422, "VALIDATION_FAILED");
    foreign["capacity_places"] = json!(10);
    let answer = app.post_json("/v1/equipments", &admin_token(), &foreign).await;
    let codes: Vec<&str> = answer.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["DATE_BEFORE_START", "UNKNOWN_COMMUNE", "SIRET_NOT_OF_MANAGER"]);

    let mut read_only = valid.clone();
    read_only["department"] = json!("74");
    app.post_json("/v1/equipments", &admin_token(), &read_only).await.assert_problem(400, "READ_ONLY_FIELD");

    let path = format!("/v1/equipments/{}", created["id"].as_str().unwrap());
    let answer = app.patch_json(&path, &caf_agent_token(&["33"]), "\"1\"", &json!({"capacity_places": 48})).await;
    answer.assert_problem(403, "FORBIDDEN");
    let answer = app.patch_json(&path, &caf_agent_token(&["74"]), "\"1\"", &json!({"capacity_places": 48})).await;
    assert_eq!((answer.status, answer.body["capacity_places"].as_i64()), (200, Some(48)));
    let manager_path = format!("/v1/organisations/{}", manager["id"].as_str().unwrap());
    app.delete_with(&manager_path, &admin_token(), "\"1\"").await.assert_problem(409, "CONFLICT");
    assert_eq!(app.delete_with(&path, &admin_token(), "\"2\"").await.status, 204);
    assert_eq!(app.delete_with(&manager_path, &admin_token(), "\"1\"").await.status, 204);
}
