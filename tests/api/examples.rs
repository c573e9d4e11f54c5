//! `examples/sync_department.sh`, run as an integrator would run it against a live server: the
//! copy it keeps of département 74 equals what the API answers, holds nothing of another
//! département, and follows deletions. Needs bash, curl and jq: skipped without them, unless
//! `CTG_REQUIRE_EXAMPLE_TOOLS` is set (as `.ci/run` does), which makes their absence a failure.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::fixtures::{BORDEAUX_METROPOLE, FAUCIGNY, caf, draft_ctg, epci, sign};
use crate::helpers::{TestApp, admin_token, claims, spawn_app, token_for};

/// Whether bash, curl and jq are here to run a shell example; their absence fails the test when
/// `CTG_REQUIRE_EXAMPLE_TOOLS` is set.
pub(crate) fn tools_present() -> bool {
    let present = ["bash", "curl", "jq"]
        .iter()
        .all(|tool| Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success()));
    assert!(present || std::env::var_os("CTG_REQUIRE_EXAMPLE_TOOLS").is_none(), "bash, curl and jq are required");
    present
}

async fn sync(app: &TestApp, token: &str, dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sync_department.sh");
    let (api, token, dir) = (app.address.clone(), token.to_owned(), dir.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash").arg(script).arg(&dir).env("CTG_API", api).env("CTG_TOKEN", token).output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|_| panic!("{} is missing", path.display())))
        .unwrap()
}

async fn bulk(app: &TestApp, file: &str) {
    let request = app
        .client
        .post(app.url("/v1/observations/bulk"))
        .bearer_auth(admin_token())
        .header("content-type", "text/csv")
        .body(file.to_owned());
    assert_eq!(app.send(request).await.status, 200);
}

#[tokio::test]
async fn the_example_mirrors_a_departement_exactly_through_the_feed() {
    if !tools_present() {
        eprintln!("skipped: bash, curl and jq are needed to run examples/sync_department.sh");
        return;
    }
    let app = spawn_app().await;
    let mut integration = claims("integration");
    integration.departments = vec!["74".into()];
    let token = token_for(&integration);
    let mirror = tempfile::tempdir().unwrap();

    let caf74 = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf74, &faucigny).await;
    let bordeaux = epci(&app, BORDEAUX_METROPOLE).await;
    bulk(&app, "indicator,geo_level,geo_code,period,value,source\nplaces_eaje,commune,74010,2024,12,Cnaf\nplaces_eaje,commune,33063,2024,40,Cnaf\n").await;
    sync(&app, &token, mirror.path()).await;

    // More changes, then the next run catches up from where the first stopped.
    sign(&app, &contract).await;
    let axis = app
        .create(&format!("/v1/contracts/{}/axes", contract.id), &json!({"code": "A1", "title": "Petite enfance"}))
        .await;
    let gone =
        app.create(&format!("/v1/contracts/{}/axes", contract.id), &json!({"code": "A2", "title": "Provisoire"})).await;
    let gone_path = format!("/v1/contracts/{}/axes/{}", contract.id, gone["id"].as_str().unwrap());
    let etag = app.etag(&gone_path).await;
    assert_eq!(app.delete_with(&gone_path, &admin_token(), &etag).await.status, 204);
    bulk(&app, "indicator,geo_level,geo_code,period,value,source\nplaces_eaje,commune,74010,2024,13.5,Cnaf\n").await;
    sync(&app, &token, mirror.path()).await;

    let file = |resource: &str, id: &Value| mirror.path().join(resource).join(format!("{}.json", id.as_str().unwrap()));
    let api = |path: String| {
        let app = &app;
        async move { app.get(&path, &admin_token()).await.body }
    };
    assert_eq!(read(&file("contract", &json!(contract.id))), api(format!("/v1/contracts/{}", contract.id)).await);
    for party in [&contract.caf_party, &contract.epci_party] {
        assert_eq!(
            read(&file("party", &json!(party))),
            api(format!("/v1/contracts/{}/parties/{party}", contract.id)).await
        );
    }
    assert_eq!(
        read(&file("axis", &axis["id"])),
        api(format!("/v1/contracts/{}/axes/{}", contract.id, axis["id"].as_str().unwrap())).await
    );
    assert!(!file("axis", &gone["id"]).exists(), "a deleted axis stays deleted in the copy");
    for organisation in [&caf74, &faucigny] {
        assert_eq!(
            read(&file("organisation", &organisation["id"])),
            api(format!("/v1/organisations/{}", organisation["id"].as_str().unwrap())).await
        );
    }
    assert!(!file("organisation", &bordeaux["id"]).exists(), "nothing of Gironde");
    let observation = read(&mirror.path().join("observations/places_eaje/commune-74010-2024.json"));
    let current = api("/v1/indicators/places_eaje/observations?geo_code=74010".into()).await;
    assert_eq!(observation, current["items"][0]);
    assert_eq!(observation["value"], "13.5");
    assert!(!mirror.path().join("observations/places_eaje/commune-33063-2024.json").exists());
}
