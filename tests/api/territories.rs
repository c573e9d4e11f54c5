//! The territory reference through the API: every role reads it, with filters and pagination.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

async fn all_pages(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &next {
            Some(token) => format!("{path}{separator}page_token={token}"),
            None => path.to_owned(),
        };
        let answer = app.get(&url, token).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        items.extend(answer.body["items"].as_array().unwrap().iter().cloned());
        match answer.body["next_page_token"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn the_faucigny_glieres_epci_comes_with_its_member_communes() {
    let app = spawn_app().await;
    let answer = app.get("/v1/epcis/200000172", &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let epci = &answer.body;
    assert_eq!(epci["name"], "CC Faucigny - Glières");
    assert_eq!(epci["kind"], "cc");
    assert_eq!(epci["departments"], serde_json::json!(["74"]));
    assert_eq!(epci["member_count"], 7);
    let members: Vec<&str> = epci["members"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(members.len(), 7);
    assert!(members.contains(&"Bonneville"), "{members:?}");
    let bonneville = epci["members"].as_array().unwrap().iter().find(|m| m["insee"] == "74042").unwrap();
    assert_eq!(bonneville["siren"], "217400423");
    assert_eq!(bonneville["postal_codes"], serde_json::json!(["74130"]));
}

#[tokio::test]
async fn every_role_reads_the_reference() {
    let app = spawn_app().await;
    for token in [admin_token(), caf_agent_token(&["33"]), collectivity_token(&["217400423"]), {
        let mut claims = crate::helpers::claims("integration");
        claims.departments = vec!["13".into()];
        crate::helpers::token_for(&claims)
    }] {
        for path in ["/v1/departments/74", "/v1/epcis/200000172", "/v1/communes/74042", "/v1/communes?epci=200000172"] {
            assert_eq!(app.get(path, &token).await.status, 200, "{path}");
        }
    }
}

#[tokio::test]
async fn departments_page_through_all_109_in_code_order() {
    let app = spawn_app().await;
    let first = app.get("/v1/departments", &admin_token()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 50, "default page size");
    let items = all_pages(&app, "/v1/departments?page_size=20", &admin_token()).await;
    let codes: Vec<&str> = items.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), 109);
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(codes, sorted, "ordered by code, no duplicates");

    let corse_du_sud = items.iter().find(|d| d["code"] == "2A").unwrap();
    assert_eq!((corse_du_sud["zone"].as_str(), corse_du_sud["has_caf"].as_bool()), (Some("metro"), Some(true)));
    let saint_pierre = items.iter().find(|d| d["code"] == "975").unwrap();
    assert_eq!((saint_pierre["zone"].as_str(), saint_pierre["has_caf"].as_bool()), (Some("com"), Some(false)));
}

#[tokio::test]
async fn a_page_token_only_works_for_its_caller_and_filters() {
    let app = spawn_app().await;
    let first = app.get("/v1/communes?department=74&page_size=10", &admin_token()).await;
    let token = first.body["next_page_token"].as_str().unwrap().to_owned();

    let next = app.get(&format!("/v1/communes?department=74&page_size=10&page_token={token}"), &admin_token()).await;
    assert_eq!(next.status, 200);

    let other_caller = app
        .get(&format!("/v1/communes?department=74&page_size=10&page_token={token}"), &caf_agent_token(&["74"]))
        .await;
    other_caller.assert_problem(400, "INVALID_PAGE_TOKEN");
    let other_filter =
        app.get(&format!("/v1/communes?department=73&page_size=10&page_token={token}"), &admin_token()).await;
    other_filter.assert_problem(400, "INVALID_PAGE_TOKEN");
    let other_list = app.get(&format!("/v1/epcis?page_token={token}"), &admin_token()).await;
    other_list.assert_problem(400, "INVALID_PAGE_TOKEN");
    let mut tampered = token.clone();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    let tampered =
        app.get(&format!("/v1/communes?department=74&page_size=10&page_token={tampered}"), &admin_token()).await;
    tampered.assert_problem(400, "INVALID_PAGE_TOKEN");
}

#[tokio::test]
async fn communes_filter_by_department_epci_and_name() {
    let app = spawn_app().await;
    let in_epci = all_pages(&app, "/v1/communes?epci=200000172", &admin_token()).await;
    assert_eq!(in_epci.len(), 7);

    let haute_savoie = all_pages(&app, "/v1/communes?department=74&page_size=200", &admin_token()).await;
    assert!(haute_savoie.len() > 250, "{}", haute_savoie.len());
    assert!(haute_savoie.iter().all(|c| c["department"] == "74"));
    let codes: BTreeSet<&str> = haute_savoie.iter().map(|c| c["insee"].as_str().unwrap()).collect();
    assert_eq!(codes.len(), haute_savoie.len(), "no commune twice across pages");

    // Accents, case and hyphens do not matter.
    let found = all_pages(&app, "/v1/communes?q=SAINT%20ETIENNE%20DE%20TINEE", &admin_token()).await;
    let names: Vec<&str> = found.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Saint-Étienne-de-Tinée"]);

    let by_code = all_pages(&app, "/v1/communes?q=7404", &admin_token()).await;
    assert!(by_code.iter().any(|c| c["insee"] == "74042"));

    let nothing = app.get("/v1/communes?department=99", &admin_token()).await;
    assert_eq!(nothing.body["items"], serde_json::json!([]));
    assert_eq!(nothing.body["next_page_token"], Value::Null);
}

#[tokio::test]
async fn epcis_filter_by_department_and_name() {
    let app = spawn_app().await;
    let haute_savoie = all_pages(&app, "/v1/epcis?department=74&page_size=200", &admin_token()).await;
    assert!(haute_savoie.iter().any(|e| e["siren"] == "200000172"));
    assert!(haute_savoie.iter().all(|e| e["departments"].as_array().unwrap().iter().any(|d| d == "74")));
    let found = all_pages(&app, "/v1/epcis?q=faucigny%20glieres", &admin_token()).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["member_count"], 7);
}

#[tokio::test]
async fn corsica_overseas_and_arrondissements_are_addressable() {
    let app = spawn_app().await;
    let ajaccio = app.get("/v1/communes/2A004", &admin_token()).await;
    assert_eq!((ajaccio.status, ajaccio.body["name"].as_str()), (200, Some("Ajaccio")));
    let saint_denis = app.get("/v1/communes/97411", &admin_token()).await;
    assert_eq!(saint_denis.body["department"], "974");
    let arrondissement = app.get("/v1/communes/13201", &admin_token()).await;
    assert_eq!(arrondissement.body["kind"], "arrondissement_municipal");
    assert_eq!(arrondissement.body["parent_insee"], "13055");
}

#[tokio::test]
async fn unknown_territories_are_404_problems() {
    let app = spawn_app().await;
    for path in ["/v1/departments/99", "/v1/epcis/200000173", "/v1/communes/74999", "/v1/communes/x"] {
        app.get(path, &admin_token()).await.assert_problem(404, "NOT_FOUND");
    }
}
