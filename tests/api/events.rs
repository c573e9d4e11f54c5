//! The change feed: every change in order with the resource after it, filtered to the caller's
//! scope, cursors that belong to their caller, and a reader that follows the feed while writers
//! commit concurrently misses nothing and sees nothing twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::fixtures::{FAUCIGNY, caf, draft_ctg, epci, sign};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

fn integration_token(departments: &[&str]) -> String {
    let mut claims = claims("integration");
    claims.departments = departments.iter().map(|d| (*d).to_owned()).collect();
    token_for(&claims)
}

pub async fn page(app: &TestApp, token: &str, after: Option<&str>, limit: u32) -> Answer {
    let path = match after {
        Some(cursor) => format!("/v1/events?limit={limit}&after={cursor}"),
        None => format!("/v1/events?limit={limit}"),
    };
    let answer = app.get(&path, token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

/// Every event from the start, following the cursor in pages of `limit`.
pub async fn all_events(app: &TestApp, token: &str, limit: u32) -> (Vec<Value>, String) {
    let (mut events, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let answer = page(app, token, cursor.as_deref(), limit).await;
        let items = answer.body["items"].as_array().unwrap().clone();
        let next = answer.body["next_cursor"].as_str().unwrap().to_owned();
        let done = items.len() < limit as usize;
        events.extend(items);
        cursor = Some(next);
        if done {
            return (events, cursor.unwrap());
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_feed_holds_every_change_in_order_with_the_resource_after_it() {
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf, &faucigny).await;
    sign(&app, &contract).await;

    let (events, cursor) = all_events(&app, &admin_token(), 3).await;
    assert_eq!(
        types(&events),
        [
            "organisation.created",
            "organisation.created",
            "contract.created",
            "party.created",
            "contract.touched",
            "party.created",
            "contract.touched",
            "contract.transitioned",
            "party.updated",
            "contract.touched",
            "party.updated",
            "contract.touched",
            "contract.transitioned",
        ]
    );
    // Ids name events without numbering them: the gaps between numbers would measure the
    // activity of other départements.
    let ids: BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "each event its own id");
    assert!(ids.iter().all(|id| id.len() == 22 && id.parse::<i64>().is_err()), "{ids:?}");
    let signed = events.last().unwrap();
    let now = app.get(&format!("/v1/contracts/{}", contract.id), &admin_token()).await;
    assert_eq!(signed["data"], now.body, "the contract as it is after its last change");
    assert_eq!(
        (signed["contract_id"].as_str(), signed["department"].as_str()),
        (Some(contract.id.as_str()), Some("74"))
    );
    assert_eq!(signed["actor"]["role"], "admin");

    // Caught up: the cursor stays put until something new happens, then only that comes.
    let idle = page(&app, &admin_token(), Some(&cursor), 10).await;
    assert_eq!(
        (idle.body["items"].as_array().unwrap().len(), idle.body["next_cursor"].as_str()),
        (0, Some(cursor.as_str()))
    );
    let path = format!("/v1/organisations/{}", caf["id"].as_str().unwrap());
    let etag = app.etag(&path).await;
    assert_eq!(
        app.patch_json(&path, &admin_token(), &etag, &json!({"name": "CAF de la Haute-Savoie"})).await.status,
        200
    );
    let next = page(&app, &admin_token(), Some(&cursor), 10).await;
    assert_eq!(types(next.body["items"].as_array().unwrap()), ["organisation.updated"]);
    assert_eq!(next.body["items"][0]["data"]["name"], "CAF de la Haute-Savoie");
}

#[tokio::test]
async fn each_caller_follows_only_its_scope_and_its_own_cursors() {
    let app = spawn_app().await;
    let caf74 = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let contract = draft_ctg(&app, "74", &caf74, &faucigny).await;
    caf(&app, "33").await;
    let observations = "indicator,geo_level,geo_code,period,value,source\n\
        places_eaje,commune,74010,2024,12,Cnaf\nplaces_eaje,commune,74042,2024,3,Cnaf\nplaces_eaje,commune,33063,2024,40,Cnaf\n";
    let ingest = app
        .send(
            app.client
                .post(app.url("/v1/observations/bulk"))
                .bearer_auth(admin_token())
                .header("content-type", "text/csv")
                .body(observations),
        )
        .await;
    assert_eq!(ingest.status, 200, "{}", ingest.text);

    let departments = |events: &[Value]| -> BTreeSet<String> {
        events.iter().map(|e| e["department"].as_str().unwrap_or("-").to_owned()).collect()
    };
    let (agent74, _) = all_events(&app, &caf_agent_token(&["74"]), 50).await;
    assert_eq!(departments(&agent74), BTreeSet::from(["74".to_owned()]));
    let (integration33, _) = all_events(&app, &integration_token(&["33"]), 50).await;
    assert_eq!(types(&integration33), ["organisation.created", "observations.upserted"]);
    assert_eq!(integration33[1]["data"]["rows"], 1);
    let upserted = agent74.iter().find(|e| e["type"] == "observations.upserted").unwrap();
    assert_eq!(upserted["data"]["indicators"], json!({"places_eaje": 2}));
    let ingest_id = upserted["data"]["ingest_id"].as_str().unwrap();
    let rows = app
        .get(&format!("/v1/indicators/places_eaje/observations?ingest_id={ingest_id}"), &caf_agent_token(&["74"]))
        .await;
    assert_eq!(rows.body["items"].as_array().unwrap().len(), 2, "{}", rows.text);

    // A collectivity sees the contracts it is party to, nothing of the directory.
    let (town, _) = all_events(&app, &collectivity_token(&[FAUCIGNY]), 50).await;
    assert!(!town.is_empty());
    assert!(town.iter().all(|e| e["contract_id"] == contract.id.as_str()), "{town:?}");

    // Cursors: altered, or issued to someone else, are refused.
    let mine = page(&app, &admin_token(), None, 2).await.body["next_cursor"].as_str().unwrap().to_owned();
    app.get(&format!("/v1/events?after={mine}"), &caf_agent_token(&["74"]))
        .await
        .assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/events?after=not-a-cursor", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/events?limit=0", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
    app.get("/v1/events?since=1", &admin_token()).await.assert_problem(400, "INVALID_PARAMETER");
}

/// One writer per contract creates `axes` axes coded `{prefix}W{writer}-{n}`, one after the other,
/// each through the app `next_app` gives; `done` is set once every writer has finished. Returns
/// the ids each writer created.
pub async fn write_axes<'a>(
    next_app: impl Fn() -> &'a TestApp + Copy,
    contracts: &[String],
    prefix: &str,
    axes: usize,
    done: &AtomicBool,
) -> Vec<Vec<String>> {
    let writers = contracts.iter().enumerate().map(|(w, contract)| async move {
        let mut created = Vec::new();
        for n in 0..axes {
            let code = format!("{prefix}W{w}-{n}");
            let created_axis = next_app()
                .create(&format!("/v1/contracts/{contract}/axes"), &json!({"code": code, "title": "Axe"}))
                .await;
            created.push(created_axis["id"].as_str().unwrap().to_owned());
        }
        created
    });
    let written = futures_util::future::join_all(writers).await;
    done.store(true, Ordering::SeqCst);
    written
}

/// Follows the feed from `start`, `page_size` events a page, each page asked of the app `next_app`
/// gives, until the writers are `done` and a page comes back short with `expected` `axis.created`
/// events seen (on PostgreSQL a transaction still running anywhere on the server holds the feed
/// back), or a minute has passed. Returns every event seen.
pub async fn follow_feed<'a>(
    next_app: impl Fn() -> &'a TestApp,
    start: &str,
    page_size: u32,
    done: &AtomicBool,
    expected: usize,
) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor = start.to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let finished = done.load(Ordering::SeqCst);
        let answer = page(next_app(), &admin_token(), Some(&cursor), page_size).await;
        let items = answer.body["items"].as_array().unwrap().clone();
        let short = items.len() < page_size as usize;
        seen.extend(items);
        cursor = answer.body["next_cursor"].as_str().unwrap().to_owned();
        if finished && short && (axes_created(&seen) >= expected || std::time::Instant::now() > deadline) {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// How many `axis.created` events are among `events`.
pub fn axes_created(events: &[Value]) -> usize {
    events.iter().filter(|event| event["type"] == "axis.created").count()
}

/// A reader follows the feed while writers on 16 contracts commit side by side. A page that comes
/// back short says the reader is caught up with what is settled; on PostgreSQL a transaction still
/// running (anywhere on the server) holds the feed back, so the reader goes on until it has seen
/// every axis, then the test checks it saw each once, in each writer's order.
#[tokio::test]
async fn a_reader_following_the_feed_during_concurrent_writes_misses_nothing_and_sees_nothing_twice() {
    const WRITERS: usize = 16;
    const AXES: usize = 25;
    let app = spawn_app().await;
    let caf = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let mut contracts = Vec::new();
    for _ in 0..WRITERS {
        contracts.push(draft_ctg(&app, "74", &caf, &faucigny).await.id);
    }
    let (_, start) = all_events(&app, &admin_token(), 1000).await;

    let writers_done = AtomicBool::new(false);
    let writers = write_axes(|| &app, &contracts, "", AXES, &writers_done);
    let reader = follow_feed(|| &app, &start, 7, &writers_done, WRITERS * AXES);
    let (written, seen) = tokio::join!(writers, reader);
    let written: BTreeSet<String> = written.into_iter().flatten().collect();
    assert_eq!(written.len(), WRITERS * AXES);

    let mut times_seen: HashMap<String, usize> = HashMap::new();
    for event in seen.iter().filter(|e| e["type"] == "axis.created") {
        *times_seen.entry(event["resource_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let seen_ids: BTreeSet<String> = times_seen.keys().cloned().collect();
    assert_eq!(seen_ids, written, "every committed axis, and nothing else");
    assert!(times_seen.values().all(|&n| n == 1), "an event seen twice: {times_seen:?}");
    // In commit order: each writer's axes in the order it created them.
    for writer in 0..WRITERS {
        let prefix = format!("W{writer}-");
        let order: Vec<usize> = seen
            .iter()
            .filter_map(|e| e["data"]["code"].as_str().filter(|_| e["type"] == "axis.created"))
            .filter_map(|code| code.strip_prefix(&prefix))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(order, (0..AXES).collect::<Vec<_>>(), "writer {writer} out of order");
    }
}

#[tokio::test]
async fn a_reader_behind_the_retention_window_is_told_to_resynchronise() {
    let database = crate::helpers::fresh_database();
    let mut config = crate::helpers::test_config(database.url());
    config.feed_retention = std::time::Duration::from_secs(1);
    let app = crate::helpers::spawn(ctg_api::startup::Application::build(&config).unwrap(), database);
    let token = caf_agent_token(&["74"]);
    caf(&app, "74").await;
    let (before, behind) = all_events(&app, &token, 10).await;
    assert_eq!(types(&before), ["organisation.created"]);
    // The cursor opens nothing to read: neither a number nor a signed one.
    assert!(behind.len() == 43 && !behind.contains('.'), "{behind}");

    // Past the window (and the purge within a second after it), the event is gone.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    epci(&app, FAUCIGNY).await;
    let (after, caught_up) = all_events(&app, &token, 10).await;
    assert_eq!(types(&after), ["organisation.created"], "a new reader starts at the oldest event kept");
    // The cursor of the purged event still points inside the window: nothing was lost after it.
    assert_eq!(page(&app, &token, Some(&behind), 10).await.body["items"].as_array().unwrap().len(), 1);

    // Once the event after a cursor is purged too, following it would skip it: 410.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let gone = app.get(&format!("/v1/events?after={behind}"), &token).await;
    gone.assert_problem(410, "GONE");
    assert!(gone.body["detail"].as_str().unwrap().contains("lists"), "{}", gone.text);
    assert_eq!(page(&app, &token, Some(&caught_up), 10).await.body["items"], json!([]));
}
