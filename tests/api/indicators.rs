//! The indicator catalogue: seeded on a fresh database, read by everyone, written by admins.

use serde_json::json;

use crate::helpers::{admin_token, caf_agent_token, spawn_app};

#[tokio::test]
async fn a_fresh_database_holds_the_base_catalogue() {
    let app = spawn_app().await;
    let coverage = app.get("/v1/indicators/taux_couverture_eaje_epci", &caf_agent_token(&["74"])).await;
    assert_eq!(coverage.status, 200, "{}", coverage.text);
    assert_eq!(
        (
            coverage.body["unit"].as_str(),
            coverage.body["ascending"].as_bool(),
            coverage.body["geo_level"].as_str(),
            coverage.body["field"].as_str()
        ),
        (Some("places_per_100_children"), Some(true), Some("epci"), Some("petite_enfance"))
    );
    let all = app.get("/v1/indicators?page_size=200", &admin_token()).await;
    let codes: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    for code in [
        "places_eaje",
        "enfants_0_2",
        "enfants_12_17",
        "foyers_allocataires",
        "diagnostic_partage_realise",
        "heures_activite_alsh",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let quarterly = app.get("/v1/indicators?geo_level=commune&field=enfance", &admin_token()).await;
    assert!(
        quarterly.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["geo_level"] == "commune" && i["field"] == "enfance")
    );
}

#[tokio::test]
async fn admins_write_the_catalogue_and_others_cannot() {
    let app = spawn_app().await;
    let body = json!({"code": "places_rpe", "label": "Relais petite enfance", "unit": "count", "ascending": true, "source": "Cnaf", "geo_level": "epci", "periodicity": "annual"});
    app.post_json("/v1/indicators", &caf_agent_token(&["74"]), &body).await.assert_problem(403, "FORBIDDEN");
    let created = app.create("/v1/indicators", &body).await;
    assert_eq!(created["code"], "places_rpe");
    app.post_json("/v1/indicators", &admin_token(), &body).await.assert_problem(409, "CONFLICT");
    let mut bad = body.clone();
    bad["code"] = json!("Places RPE");
    assert_eq!(
        app.post_json("/v1/indicators", &admin_token(), &bad).await.assert_problem(422, "VALIDATION_FAILED")["errors"]
            [0]["pointer"],
        "/code"
    );
    let answer =
        app.patch_json("/v1/indicators/places_rpe", &admin_token(), "\"1\"", &json!({"unit": "percent"})).await;
    answer.assert_problem(400, "READ_ONLY_FIELD");
    let answer =
        app.patch_json("/v1/indicators/places_rpe", &admin_token(), "\"1\"", &json!({"source": "Cnaf, SIAS"})).await;
    assert_eq!((answer.status, answer.body["source"].as_str()), (200, Some("Cnaf, SIAS")));
    assert_eq!(app.delete_with("/v1/indicators/places_rpe", &admin_token(), "\"2\"").await.status, 204);
    app.get("/v1/indicators/places_rpe", &admin_token()).await.assert_problem(404, "NOT_FOUND");
}
