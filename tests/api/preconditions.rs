//! Conditional requests as RFC 9110 §13 says, for every kind of versioned resource: a contract, a
//! child of a contract, an organisation, an equipment, a funding commitment and an indicator.
//!
//! `If-Match: *` matches any current representation; tags compare strongly, so a weak tag never
//! matches; a list matches when one of its tags does; a missing header is 428 and a malformed one
//! 400. And a precondition never turns a 404 or a 403 into 412 or 428: someone else's resource
//! answers exactly as an unknown one, with or without the header.

use serde_json::{Value, json};

use crate::fixtures::{FAUCIGNY, draft_ctg};
use crate::funding::{draft_commitment, signed_contract};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, collectivity_token, spawn_app};

/// One versioned resource and a change that is valid on it whatever its version.
struct Guarded {
    kind: &'static str,
    path: String,
    /// The address of a resource of the same kind that does not exist.
    unknown: String,
    body: Value,
    /// A body that reads well but breaks a constraint on one of its fields (422
    /// `VALIDATION_FAILED`, decided as the body is read).
    invalid: Value,
}

async fn patch(app: &TestApp, path: &str, token: &str, if_match: Option<&str>, body: &Value) -> Answer {
    let mut request = app.client.patch(app.url(path)).bearer_auth(token).json(body);
    if let Some(value) = if_match {
        request = request.header("If-Match", value);
    }
    app.send(request).await
}

/// One of each kind, in département 74.
async fn guarded_resources(app: &TestApp) -> Vec<Guarded> {
    let signed = signed_contract(app).await;
    let organisation_of = |party: String| {
        let path = format!("/v1/contracts/{}/parties/{party}", signed.id);
        async move { app.get(&path, &admin_token()).await.body["organisation"].clone() }
    };
    let caf = organisation_of(signed.caf_party.clone()).await;
    let faucigny = organisation_of(signed.epci_party.clone()).await;
    let draft = draft_ctg(app, "74", &caf, &faucigny).await;
    let commitment = draft_commitment(app, &signed).await;
    let equipment = app
        .create(
            "/v1/equipments",
            &json!({"type": "eaje", "name": "Multi-accueil Bonneville", "manager_id": faucigny["id"], "commune": "74042"}),
        )
        .await;
    let missing = "00000000-0000-4000-8000-000000000000";
    vec![
        Guarded {
            kind: "contract",
            path: format!("/v1/contracts/{}", draft.id),
            unknown: format!("/v1/contracts/{missing}"),
            body: json!({"title": "CTG du Faucigny"}),
            invalid: json!({"title": ""}),
        },
        Guarded {
            kind: "child of a contract",
            path: format!("/v1/contracts/{}/parties/{}", draft.id, draft.caf_party),
            unknown: format!("/v1/contracts/{}/parties/{missing}", draft.id),
            body: json!({"signatory_title": "Directeur"}),
            invalid: json!({"roles": []}),
        },
        Guarded {
            kind: "organisation",
            path: format!("/v1/organisations/{}", caf["id"].as_str().unwrap()),
            unknown: format!("/v1/organisations/{missing}"),
            body: json!({"name": "CAF de la Haute-Savoie"}),
            invalid: json!({"name": ""}),
        },
        Guarded {
            kind: "equipment",
            path: format!("/v1/equipments/{}", equipment["id"].as_str().unwrap()),
            unknown: format!("/v1/equipments/{missing}"),
            body: json!({"capacity_places": 24}),
            invalid: json!({"name": ""}),
        },
        Guarded {
            kind: "funding commitment",
            path: format!("/v1/funding-commitments/{}", commitment["id"].as_str().unwrap()),
            unknown: format!("/v1/funding-commitments/{missing}"),
            body: json!({"units": 3}),
            invalid: json!({"units": -1}),
        },
        Guarded {
            kind: "indicator",
            path: "/v1/indicators/places_eaje".to_owned(),
            unknown: "/v1/indicators/no_such_indicator".to_owned(),
            body: json!({"source": "Cnaf, base équipements"}),
            invalid: json!({"label": ""}),
        },
    ]
}

#[tokio::test]
async fn if_match_follows_rfc_9110_on_every_kind_of_resource() {
    let app = spawn_app().await;
    let admin = admin_token();
    for resource in guarded_resources(&app).await {
        let (kind, path, body) = (resource.kind, resource.path.as_str(), &resource.body);
        let etag = app.etag(path).await;
        let version: i64 = etag.trim_matches('"').parse().unwrap();

        patch(&app, path, &admin, None, body).await.assert_problem(428, "PRECONDITION_REQUIRED");
        for malformed in ["3", "\"3", "*, \"3\"", "\"3\" \"4\""] {
            let answer = patch(&app, path, &admin, Some(malformed), body).await;
            let problem = answer.assert_problem(400, "INVALID_PARAMETER");
            assert_eq!(problem["errors"][0]["parameter"], "If-Match", "{kind}: {malformed}");
        }
        let weak = format!("W/{etag}");
        patch(&app, path, &admin, Some(&weak), body).await.assert_problem(412, "PRECONDITION_FAILED");
        let stale = format!("\"{}\"", version - 1);
        patch(&app, path, &admin, Some(&stale), body).await.assert_problem(412, "PRECONDITION_FAILED");
        assert_eq!(app.etag(path).await, etag, "{kind}: a refused precondition changed nothing");

        let list = format!("\"not-a-version\", {stale}, W/\"{}\", {etag}", version + 1);
        let answer = patch(&app, path, &admin, Some(&list), body).await;
        assert_eq!(answer.status, 200, "{kind}: a list matches when one of its tags does: {}", answer.text);
        let after_list = answer.header("etag").unwrap().to_owned();
        assert_ne!(after_list, etag, "{kind}");

        let answer = patch(&app, path, &admin, Some("*"), body).await;
        assert_eq!(answer.status, 200, "{kind}: * matches the current representation: {}", answer.text);
        let after_star = answer.header("etag").unwrap().to_owned();
        assert_ne!(after_star, after_list, "{kind}");

        // A body whose fields break their constraints is 422 whatever the header says.
        for if_match in [None, Some("*"), Some("\"0\""), Some("garbage")] {
            let answer = patch(&app, path, &admin, if_match, &resource.invalid).await;
            answer.assert_problem(422, "VALIDATION_FAILED");
        }

        // A body that cannot be read is refused as it would be without the header.
        for if_match in [None, Some("*"), Some("\"0\""), Some("garbage")] {
            let answer = patch(&app, path, &admin, if_match, &json!({"no_such_field": 1})).await;
            answer.assert_problem(400, "UNKNOWN_FIELD");
        }
        assert_eq!(app.etag(path).await, after_star, "{kind}: a refused body changed nothing");

        // An unknown resource is 404 whatever the header says.
        for if_match in [None, Some("*"), Some("\"1\""), Some("garbage")] {
            let answer = patch(&app, &resource.unknown, &admin, if_match, body).await;
            answer.assert_problem(404, "NOT_FOUND");
        }
    }
}

#[tokio::test]
async fn a_precondition_never_turns_someone_elses_resource_or_a_refused_role_into_412_or_428() {
    let app = spawn_app().await;
    let resources = guarded_resources(&app).await;
    let gironde = caf_agent_token(&["33"]);
    let collectivity = collectivity_token(&[FAUCIGNY]);
    for resource in &resources {
        let (kind, path) = (resource.kind, resource.path.as_str());
        let etag = app.etag(path).await;
        let unknown: Vec<Answer> =
            changes_with_every_kind_of_if_match(&app, &resource.unknown, &gironde, &resource.body).await;
        let foreign: Vec<Answer> = changes_with_every_kind_of_if_match(&app, path, &gironde, &resource.body).await;
        for (unknown, foreign) in unknown.iter().zip(&foreign) {
            // Contract data of another département: 404 exactly as unknown. Directory data is
            // read by everyone, so another département's agent is refused the write, with 403.
            let expected = match kind {
                "contract" | "child of a contract" | "funding commitment" => (404, "NOT_FOUND"),
                _ => (403, "FORBIDDEN"),
            };
            foreign.assert_problem(expected.0, expected.1);
            if expected.0 == 404 {
                assert_eq!(foreign.body["title"], unknown.body["title"], "{kind}");
                assert_eq!(foreign.body["detail"], unknown.body["detail"], "{kind}");
            }
        }
        // A collectivity may not change these, with or without a current ETag. (Its own party's
        // signature is the one exception, and this party is the CAF's.)
        for if_match in [None, Some(etag.as_str()), Some("\"0\"")] {
            let answer = patch(&app, path, &collectivity, if_match, &resource.body).await;
            let allowed = matches!(answer.status, 403 | 404);
            assert!(allowed, "{kind} as a collectivity with {if_match:?}: {} {}", answer.status, answer.text);
        }
        assert_eq!(app.etag(path).await, etag, "{kind}: nothing was written");
    }
}

/// The same change sent with no If-Match, `*`, a stale tag and a malformed one.
async fn changes_with_every_kind_of_if_match(app: &TestApp, path: &str, token: &str, body: &Value) -> Vec<Answer> {
    let mut answers = Vec::new();
    for if_match in [None, Some("*"), Some("\"0\""), Some("garbage")] {
        answers.push(patch(app, path, token, if_match, body).await);
    }
    answers
}

#[tokio::test]
async fn amendments_and_schedule_generation_require_if_match() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let contract_path = format!("/v1/contracts/{}", contract.id);
    let amendment = json!({"signed_on": "2025-06-01", "effective_on": "2025-07-01", "rationale": "Nouveau titre",
                           "changes": {"title": "CTG du Faucigny-Glières"}});
    let post = |path: String, if_match: Option<&'static str>, body: Value| {
        let mut request = app.client.post(app.url(&path)).bearer_auth(admin_token()).json(&body);
        if let Some(value) = if_match {
            request = request.header("If-Match", value);
        }
        app.send(request)
    };
    post(format!("{contract_path}/amendments"), None, amendment.clone())
        .await
        .assert_problem(428, "PRECONDITION_REQUIRED");
    post(format!("{contract_path}/amendments"), Some("\"1\""), amendment.clone())
        .await
        .assert_problem(412, "PRECONDITION_FAILED");
    let answer = post(format!("{contract_path}/amendments"), Some("*"), amendment).await;
    assert_eq!(answer.status, 201, "{}", answer.text);

    let commitment = draft_commitment(&app, &contract).await;
    let commitment_path = format!("/v1/funding-commitments/{}", commitment["id"].as_str().unwrap());
    let etag = app.etag(&commitment_path).await;
    post(format!("{commitment_path}/schedule/generate"), None, json!({}))
        .await
        .assert_problem(428, "PRECONDITION_REQUIRED");
    let answer = app.generate_schedule(commitment["id"].as_str().unwrap(), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let after = app.etag(&commitment_path).await;
    assert_ne!(after, etag, "a new schedule rule is a new version of the commitment");
    let stale = app
        .send(
            app.client
                .post(app.url(&format!("{commitment_path}/schedule/generate")))
                .bearer_auth(admin_token())
                .header("If-Match", etag)
                .json(&json!({})),
        )
        .await;
    stale.assert_problem(412, "PRECONDITION_FAILED");
}
