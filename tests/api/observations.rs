//! Observations: bulk files in CSV and NDJSON, all or nothing, read back exactly, inside each
//! caller's territory.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::fixtures::{BONNEVILLE_INSEE, BONNEVILLE_SIREN, FAUCIGNY};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

const BORDEAUX_INSEE: &str = "33063";

async fn bulk(app: &TestApp, token: &str, content_type: &str, body: impl Into<String>) -> Answer {
    let request = app
        .client
        .post(app.url("/v1/observations/bulk"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.into());
    app.send(request).await
}

fn integration_token(departments: &[&str]) -> String {
    let mut claims = claims("integration");
    claims.departments = departments.iter().map(|d| (*d).to_owned()).collect();
    token_for(&claims)
}

fn items(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().unwrap().clone()
}

/// (line, column, code) of each listed problem.
fn problems(answer: &Answer) -> Vec<(u64, Option<String>, String)> {
    answer.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["column"].as_str().map(str::to_owned),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_french_spreadsheet_csv_goes_in_and_reads_back_exactly() {
    let app = spawn_app().await;
    let file = format!(
        "\u{feff}indicator;geo_level;geo_code;period;value;suppressed;source;millesime\r\n\
         places_eaje;commune;{BONNEVILLE_INSEE};2023;57,3;;Cnaf;2024 définitif\r\n\
         places_eaje;commune;{BONNEVILLE_INSEE};2024;;true;Cnaf;2025 provisoire\r\n\
         places_eaje;commune;74010;2024;1234567890.1234;false;Cnaf;\r\n"
    );
    let answer = bulk(&app, &admin_token(), "text/csv; charset=utf-8", file).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        (answer.body["rows"].as_u64(), answer.body["inserted"].as_u64(), answer.body["updated"].as_u64()),
        (Some(3), Some(3), Some(0))
    );

    let read = items(&app.get("/v1/indicators/places_eaje/observations", &admin_token()).await);
    let values: Vec<(&str, &str, Value, bool)> = read
        .iter()
        .map(|o| {
            (
                o["geo_code"].as_str().unwrap(),
                o["period"].as_str().unwrap(),
                o["value"].clone(),
                o["suppressed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            ("74010", "2024", json!("1234567890.1234"), false),
            (BONNEVILLE_INSEE, "2023", json!("57.3"), false),
            (BONNEVILLE_INSEE, "2024", Value::Null, true),
        ]
    );
    assert_eq!(read[1]["millesime"], "2024 définitif");
    assert_eq!(read[0]["millesime"], Value::Null);
    assert_eq!(read[1]["ingest_id"], answer.body["ingest_id"]);

    // A known key again is replaced, not added; a new one beside it is added.
    let revised = format!(
        "indicator,geo_level,geo_code,period,value,source\nplaces_eaje,commune,{BONNEVILLE_INSEE},2023,58,Cnaf\n\
         places_eaje,commune,{BONNEVILLE_INSEE},2022,41,Cnaf\n"
    );
    let again = bulk(&app, &admin_token(), "text/csv", revised).await;
    assert_eq!((again.body["inserted"].as_u64(), again.body["updated"].as_u64()), (Some(1), Some(1)), "{}", again.text);
    let all = items(
        &app.get(&format!("/v1/indicators/places_eaje/observations?geo_code={BONNEVILLE_INSEE}"), &admin_token()).await,
    );
    assert_eq!(all.len(), 3, "two rows of the first file and the new one");
    let up_to_2023 = app
        .get(
            &format!("/v1/indicators/places_eaje/observations?geo_code={BONNEVILLE_INSEE}&period_to=2023"),
            &admin_token(),
        )
        .await;
    assert_eq!(items(&up_to_2023).iter().map(|o| o["value"].clone()).collect::<Vec<_>>(), [json!("41"), json!("58")]);
}

#[tokio::test]
async fn lists_page_filter_by_period_and_export_csv() {
    let app = spawn_app().await;
    let mut file = String::from("indicator,geo_level,geo_code,period,value,source\n");
    for year in 2019..=2024 {
        writeln!(file, "places_eaje,commune,{BONNEVILLE_INSEE},{year},{year}.5,Cnaf").unwrap();
    }
    for quarter in 1..=4 {
        writeln!(file, "heures_activite_alsh,commune,{BONNEVILLE_INSEE},2024-Q{quarter},{quarter}00,Cnaf").unwrap();
    }
    assert_eq!(bulk(&app, &admin_token(), "text/csv", file).await.status, 200);

    let mut periods = Vec::new();
    let mut path = "/v1/indicators/places_eaje/observations?period_from=2020&period_to=2023&page_size=3".to_owned();
    loop {
        let page = app.get(&path, &admin_token()).await;
        periods.extend(items(&page).iter().map(|o| o["period"].as_str().unwrap().to_owned()));
        match page.body["next_page_token"].as_str() {
            Some(token) => {
                path = format!(
                    "/v1/indicators/places_eaje/observations?period_from=2020&period_to=2023&page_size=3&page_token={token}"
                );
            }
            None => break,
        }
    }
    assert_eq!(periods, ["2020", "2021", "2022", "2023"]);
    let quarters = app
        .get("/v1/indicators/heures_activite_alsh/observations?period_from=2024-Q2&period_to=2024", &admin_token())
        .await;
    assert_eq!(
        items(&quarters).iter().map(|o| o["period"].as_str().unwrap()).collect::<Vec<_>>(),
        ["2024-Q2", "2024-Q3", "2024-Q4"]
    );
    app.get("/v1/indicators/places_eaje/observations?period_from=2024-Q7", &admin_token())
        .await
        .assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/indicators/places_eaje/observations?period_from=2024&period_to=2023", &admin_token())
        .await
        .assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/indicators/nope/observations", &admin_token()).await.assert_problem(404, "NOT_FOUND");

    let csv = app
        .send(
            app.client
                .get(app.url("/v1/indicators/places_eaje/observations?period_to=2020"))
                .bearer_auth(admin_token())
                .header("accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}indicator;geo_level;geo_code;period;value;suppressed;source;millesime;ingest_id;updated_at;origin"
    );
    assert!(
        lines[1].starts_with(&format!("places_eaje;commune;{BONNEVILLE_INSEE};2019;2019.5;false;Cnaf;;")),
        "{}",
        csv.text
    );
    assert_eq!(lines.len(), 4, "header, two rows and the final empty string: {}", csv.text);
}

#[tokio::test]
async fn one_bad_row_changes_nothing_and_is_named() {
    let app = spawn_app().await;
    let good = format!(
        r#"{{"indicator":"places_eaje","geo_level":"commune","geo_code":"{BONNEVILLE_INSEE}","period":"2024","value":10,"source":"Cnaf"}}"#
    );
    assert_eq!(bulk(&app, &admin_token(), "application/x-ndjson", format!("{good}\n")).await.status, 200);

    let file = [
        format!(r#"{{"indicator":"places_eaje","geo_level":"commune","geo_code":"{BONNEVILLE_INSEE}","period":"2024","value":"99","source":"Cnaf"}}"#),
        String::new(),
        r#"{"indicator":"places_eaje","geo_level":"commune","geo_code":"74999","period":"2024","value":"1","source":"Cnaf"}"#.to_owned(),
        r#"{"indicator":"places_eaje","geo_level":"commune","geo_code":"74010","period":"2024","value":1.5e3,"source":"Cnaf"}"#.to_owned(),
        r#"{"indicator":"places_eaje","geo_level":"commune","geo_code":"74010","period":"2025","source":"Cnaf","colour":"red"}"#.to_owned(),
    ]
    .join("\n");
    let answer = bulk(&app, &admin_token(), "application/x-ndjson", file).await;
    assert_eq!(
        problems(&answer),
        [
            (3, Some("geo_code".into()), "UNKNOWN_GEO_CODE".into()),
            (4, Some("value".into()), "INVALID_VALUE".into()),
            (5, Some("colour".into()), "UNKNOWN_FIELD".into()),
        ]
    );
    let kept = app.get("/v1/indicators/places_eaje/observations", &admin_token()).await;
    assert_eq!(
        items(&kept).iter().map(|o| o["value"].clone()).collect::<Vec<_>>(),
        [json!("10")],
        "line 1 was not written"
    );

    let bad_header =
        bulk(&app, &admin_token(), "text/csv", "indicator,geo_level,geo_code,period,valeur,source\n").await;
    assert_eq!(
        problems(&bad_header),
        [(1, Some("valeur".into()), "UNKNOWN_COLUMN".into()), (1, Some("value".into()), "MISSING_COLUMN".into())]
    );
    bulk(&app, &admin_token(), "application/json", "{}").await.assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn a_key_given_twice_is_refused_within_a_batch_and_across_batches() {
    let app = spawn_app().await;
    let header = "indicator,geo_level,geo_code,period,value,source\n";
    let near = format!("{header}places_eaje,commune,74010,2024,1,Cnaf\nplaces_eaje,commune,74010,2024,2,Cnaf\n");
    assert_eq!(problems(&bulk(&app, &admin_token(), "text/csv", near).await), [(3, None, "DUPLICATE_KEY".into())]);

    // More rows than one INSERT holds, so the repeat meets its first occurrence in the database.
    let mut far = String::from(header);
    for indicator in [
        "places_eaje",
        "places_assistants_maternels",
        "places_prescolarisation",
        "places_garde_domicile",
        "enfants_0_2",
        "enfants_3_5",
        "enfants_6_11",
        "enfants_12_17",
    ] {
        for year in 1900..=2200 {
            writeln!(far, "{indicator},commune,{BONNEVILLE_INSEE},{year},{year},Cnaf").unwrap();
        }
    }
    writeln!(far, "places_eaje,commune,{BONNEVILLE_INSEE},1900,7,Cnaf").unwrap();
    let answer = bulk(&app, &admin_token(), "text/csv", far).await;
    assert_eq!(problems(&answer), [(2410, None, "DUPLICATE_KEY".into())]);
    assert!(answer.body["errors"][0]["detail"].as_str().unwrap().contains("line 2"), "{}", answer.text);
    let nothing = app.get("/v1/indicators/enfants_0_2/observations", &admin_token()).await;
    assert!(items(&nothing).is_empty(), "the rolled-back file left rows behind");
}

#[tokio::test]
async fn callers_write_and_read_only_their_territory() {
    let app = spawn_app().await;
    let row = |code: &str, source: &str| {
        format!("indicator,geo_level,geo_code,period,value,source\nplaces_eaje,commune,{code},2024,5,{source}\n")
    };
    let epci_row = format!(
        "indicator,geo_level,geo_code,period,value,source\ntaux_couverture_eaje_epci,epci,{FAUCIGNY},2024,61.2,collectivite\n"
    );

    let answer = bulk(&app, &caf_agent_token(&["74"]), "text/csv", row(BORDEAUX_INSEE, "Cnaf")).await;
    assert_eq!(problems(&answer), [(2, Some("geo_code".into()), "OUTSIDE_CALLER_TERRITORY".into())]);
    assert_eq!(bulk(&app, &caf_agent_token(&["33"]), "text/csv", row(BORDEAUX_INSEE, "Cnaf")).await.status, 200);
    assert_eq!(bulk(&app, &integration_token(&["74"]), "text/csv", row("74010", "Cnaf")).await.status, 200);

    let town = collectivity_token(&[BONNEVILLE_SIREN]);
    let answer = bulk(&app, &town, "text/csv", row(BONNEVILLE_INSEE, "Cnaf")).await;
    assert_eq!(problems(&answer), [(2, Some("source".into()), "SOURCE_MUST_BE_COLLECTIVITE".into())]);
    assert_eq!(bulk(&app, &town, "text/csv", row(BONNEVILLE_INSEE, "collectivite")).await.status, 200);
    let answer = bulk(&app, &town, "text/csv", epci_row.clone()).await;
    assert_eq!(problems(&answer), [(2, Some("geo_code".into()), "OUTSIDE_CALLER_TERRITORY".into())]);
    assert_eq!(bulk(&app, &collectivity_token(&[FAUCIGNY]), "text/csv", epci_row).await.status, 200);

    let codes =
        |answer: &Answer| items(answer).iter().map(|o| o["geo_code"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let path = "/v1/indicators/places_eaje/observations";
    assert_eq!(codes(&app.get(path, &admin_token()).await), [BORDEAUX_INSEE, "74010"]);
    assert_eq!(codes(&app.get(path, &caf_agent_token(&["74"])).await), ["74010"]);
    assert_eq!(codes(&app.get(path, &integration_token(&["33"])).await), [BORDEAUX_INSEE]);
    assert!(codes(&app.get(path, &town).await).is_empty(), "no official figure for Bonneville");
    // The collectivities' own figures, beside the official ones.
    let own = "/v1/indicators/places_eaje/observations?origin=collectivity";
    assert_eq!(codes(&app.get(own, &admin_token()).await), [BONNEVILLE_INSEE]);
    assert_eq!(codes(&app.get(own, &caf_agent_token(&["74"])).await), [BONNEVILLE_INSEE]);
    assert!(codes(&app.get(own, &caf_agent_token(&["33"])).await).is_empty());
    assert_eq!(codes(&app.get(own, &town).await), [BONNEVILLE_INSEE]);
    let epci_path = "/v1/indicators/taux_couverture_eaje_epci/observations?origin=collectivity";
    assert_eq!(codes(&app.get(epci_path, &caf_agent_token(&["74"])).await), [FAUCIGNY]);
    assert!(codes(&app.get(epci_path, &caf_agent_token(&["33"])).await).is_empty());
    assert!(codes(&app.get(epci_path, &town).await).is_empty());
}

#[tokio::test]
async fn a_retried_file_is_answered_once() {
    let app = spawn_app().await;
    let file = format!(
        "indicator,geo_level,geo_code,period,value,source\nplaces_eaje,commune,{BONNEVILLE_INSEE},2024,5,Cnaf\n"
    );
    let send = |body: String| {
        app.send(
            app.client
                .post(app.url("/v1/observations/bulk"))
                .bearer_auth(admin_token())
                .header("content-type", "text/csv")
                .header("idempotency-key", "upload-2024-11")
                .body(body),
        )
    };
    let first = send(file.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let retry = send(file.clone()).await;
    assert_eq!((retry.status, retry.header("idempotent-replayed")), (200, Some("true")));
    assert_eq!(retry.body, first.body);
    send(file.replace(",5,", ",6,")).await.assert_problem(422, "IDEMPOTENCY_KEY_REUSED");
}

#[tokio::test]
async fn a_file_announced_over_256_mib_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /v1/observations/bulk HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        admin_token(),
        256 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"indicator,geo_level,geo_code,period,value,source\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"PAYLOAD_TOO_LARGE\""), "{answer}");
}

#[tokio::test]
async fn a_csv_export_larger_than_one_query_holds_every_row_once_and_goes_back_in() {
    let app = spawn_app().await;
    let communes = app.get("/v1/communes?department=74&page_size=17", &admin_token()).await;
    let codes: Vec<String> =
        communes.body["items"].as_array().unwrap().iter().map(|c| c["insee"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 17);
    let mut file = String::from("indicator,geo_level,geo_code,period,value,source\n");
    for code in &codes {
        for year in 1900..=2200 {
            writeln!(file, "places_eaje,commune,{code},{year},{year}.25,Cnaf").unwrap();
        }
    }
    let answer = bulk(&app, &admin_token(), "text/csv", file).await;
    assert_eq!(answer.body["inserted"].as_u64(), Some(17 * 301), "{}", answer.text);

    let request = app
        .client
        .get(app.url("/v1/indicators/places_eaje/observations"))
        .bearer_auth(caf_agent_token(&["74"]))
        .header("accept", "text/csv");
    let csv = app.send(request).await;
    let rows: Vec<&str> = csv.text.trim_end_matches("\r\n").split("\r\n").skip(1).collect();
    assert_eq!(rows.len(), 17 * 301, "every observation, over two queries of 5000");
    let keys: std::collections::BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|row| {
            let fields: Vec<&str> = row.split(';').collect();
            (fields[2], fields[3])
        })
        .collect();
    assert_eq!(keys.len(), rows.len(), "no row twice");
    assert_eq!(csv.text.matches('\u{feff}').count(), 1, "one byte-order mark, at the start");

    // The export goes back in as it is: its extra columns are the service's own.
    let again = bulk(&app, &admin_token(), "text/csv", csv.text.clone()).await;
    assert_eq!(
        (again.body["inserted"].as_u64(), again.body["updated"].as_u64()),
        (Some(0), Some(17 * 301)),
        "{}",
        again.text
    );
}

#[tokio::test]
async fn a_bad_row_after_batches_were_written_rolls_them_back() {
    let app = spawn_app().await;
    let mut file = String::from("indicator,geo_level,geo_code,period,value,source\n");
    for indicator in [
        "places_eaje",
        "enfants_0_2",
        "enfants_3_5",
        "enfants_6_11",
        "enfants_12_17",
        "places_prescolarisation",
        "places_garde_domicile",
        "places_assistants_maternels",
    ] {
        for year in 1900..=2200 {
            writeln!(file, "{indicator},commune,{BONNEVILLE_INSEE},{year},{year},Cnaf").unwrap();
        }
    }
    writeln!(file, "places_eaje,commune,74010,2024,not-a-number,Cnaf").unwrap();
    let answer = bulk(&app, &admin_token(), "text/csv", file).await;
    assert_eq!(problems(&answer), [(2410, Some("value".into()), "INVALID_VALUE".into())]);
    for indicator in ["places_eaje", "enfants_0_2"] {
        let left = app.get(&format!("/v1/indicators/{indicator}/observations"), &admin_token()).await;
        assert!(items(&left).is_empty(), "{indicator}: the batches written before the bad row were rolled back");
    }
}

#[tokio::test]
async fn oversized_lines_repeated_columns_and_too_many_problems_are_named() {
    let app = spawn_app().await;
    let header = "indicator,geo_level,geo_code,period,value,source\n";
    let huge = format!("{header}places_eaje,commune,74010,2024,{},Cnaf\n", "9".repeat(70_000));
    let answer = bulk(&app, &admin_token(), "text/csv", huge).await;
    assert_eq!(problems(&answer), [(2, None, "LINE_TOO_LONG".into())]);
    assert!(answer.text.len() < 2000, "the answer does not echo the line");

    let repeated =
        bulk(&app, &admin_token(), "text/csv", "indicator,geo_level,geo_code,period,value,source,value\n").await;
    assert_eq!(problems(&repeated), [(1, Some("value".into()), "DUPLICATE_COLUMN".into())]);

    let mut many = String::from(header);
    for year in 1900..2050 {
        writeln!(many, "places_eaje,commune,74010,{year},x,Cnaf").unwrap();
    }
    let answer = bulk(&app, &admin_token(), "text/csv", many).await;
    let listed = problems(&answer);
    assert_eq!(listed.len(), 101, "100 problems and the note that reading stopped");
    assert_eq!(listed[100], (0, None, "TOO_MANY_ERRORS".into()));
}

#[tokio::test]
async fn a_collectivity_figure_stands_beside_the_official_one_without_replacing_it() {
    let app = spawn_app().await;
    let caf = crate::fixtures::caf(&app, "74").await;
    let faucigny = crate::fixtures::epci(&app, FAUCIGNY).await;
    let contract = crate::fixtures::draft_ctg(&app, "74", &caf, &faucigny).await;
    let follow_up = json!({
        "indicator": "taux_couverture_eaje_epci", "geo_level": "epci", "geo_code": FAUCIGNY,
        "baseline": {"period": "2022", "value": "40"},
        "targets": [{"period": "2024", "value": "50"}],
    });
    app.create(&format!("/v1/contracts/{}/indicators", contract.id), &follow_up).await;
    let rate = |value: &str, source: &str| {
        format!(
            "indicator,geo_level,geo_code,period,value,source\ntaux_couverture_eaje_epci,epci,{FAUCIGNY},2024,{value},{source}\n"
        )
    };
    let written = |answer: &Answer| (answer.status, answer.body["inserted"].as_u64(), answer.body["updated"].as_u64());
    let official = bulk(&app, &caf_agent_token(&["74"]), "text/csv", rate("45.5", "ONAPE / Cnaf")).await;
    assert_eq!(written(&official), (200, Some(1), Some(0)), "{}", official.text);
    let town = collectivity_token(&[FAUCIGNY]);
    // The same key under the other origin is a row of its own: inserted, nothing replaced.
    let own = bulk(&app, &town, "text/csv", rate("99", "collectivite")).await;
    assert_eq!(written(&own), (200, Some(1), Some(0)), "{}", own.text);

    // Reads give the official figure unless asked for the collectivity's.
    let path = "/v1/indicators/taux_couverture_eaje_epci/observations";
    let read = |answer: &Answer| {
        items(answer).iter().map(|o| (o["value"].clone(), o["origin"].clone(), o["source"].clone())).collect::<Vec<_>>()
    };
    for token in [caf_agent_token(&["74"]), town.clone()] {
        assert_eq!(read(&app.get(path, &token).await), [(json!("45.5"), json!("official"), json!("ONAPE / Cnaf"))]);
        assert_eq!(
            read(&app.get(&format!("{path}?origin=collectivity"), &token).await),
            [(json!("99"), json!("collectivity"), json!("collectivite"))]
        );
    }
    app.get(&format!("{path}?origin=mine"), &town).await.assert_problem(400, "INVALID_PARAMETER");

    // The contract's progress and the departmental summary go by the official figure.
    let progress = app.get(&format!("/v1/contracts/{}/indicators", contract.id), &admin_token()).await;
    let target = &progress.body["items"][0]["targets"][0];
    assert_eq!(
        (target["actual"].clone(), target["achieved"].clone()),
        (json!("45.5"), json!(false)),
        "{}",
        progress.text
    );
    let summary = app.get("/v1/departments/74/summary", &caf_agent_token(&["74"])).await;
    let faucigny_rate = summary.body["latest_coverage_rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|rate| rate["epci_siren"] == FAUCIGNY)
        .unwrap()
        .clone();
    assert_eq!(faucigny_rate["value"], "45.5", "{}", summary.text);

    // A collectivity's later file replaces its own figure only.
    let later = bulk(&app, &town, "text/csv", rate("98", "collectivite")).await;
    assert_eq!(written(&later), (200, Some(0), Some(1)), "{}", later.text);
    assert_eq!(read(&app.get(path, &town).await)[0].0, "45.5");
    assert_eq!(read(&app.get(&format!("{path}?origin=collectivity"), &town).await)[0].0, "98");
}
