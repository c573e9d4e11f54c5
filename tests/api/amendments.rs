//! Amendments that change who signs: drafted, signed by every signatory of the contract as
//! amended, applied at the last signature and not before; a commune joining the perimeter signs;
//! an EPCI merger swaps one party for another; the last collectivity signatory and the CAF stay;
//! a draft is judged again when it applies, and a refused signature stores nothing.

use serde_json::{Value, json};

use crate::documents::{pdf, upload};
use crate::fixtures::{ANNECY_AGGLO, ContractFixture, FAUCIGNY, caf, commune, draft_ctg, epci, sign};
use crate::helpers::{Answer, TestApp, admin_token, collectivity_token, spawn_app};

/// Cluses (74), in the CC Cluses Arve et Montagnes: not in the Faucigny's perimeter.
const CLUSES_SIREN: &str = "217400811";
const CLUSES_INSEE: &str = "74081";

struct Signed {
    contract: ContractFixture,
    caf: Value,
    faucigny: Value,
}

/// A CTG of the CAF 74 over the Faucigny, signed by both on 1 February 2024.
async fn signed_ctg(app: &TestApp) -> Signed {
    let caf = caf(app, "74").await;
    let faucigny = epci(app, FAUCIGNY).await;
    let contract = draft_ctg(app, "74", &caf, &faucigny).await;
    sign(app, &contract).await;
    Signed { contract, caf, faucigny }
}

fn path(contract: &ContractFixture) -> String {
    format!("/v1/contracts/{}", contract.id)
}

async fn draft(app: &TestApp, contract: &ContractFixture, body: &Value) -> Answer {
    let contract = path(contract);
    app.post_guarded(&format!("{contract}/amendments"), &contract, &admin_token(), body).await
}

async fn sign_as(app: &TestApp, token: &str, contract: &ContractFixture, amendment: &str, body: &Value) -> Answer {
    let contract = path(contract);
    app.post_guarded(&format!("{contract}/amendments/{amendment}/signatures"), &contract, token, body).await
}

fn ids(values: &Value) -> Vec<&str> {
    values.as_array().unwrap().iter().map(|value| value.as_str().unwrap()).collect()
}

async fn organisations_of(app: &TestApp, contract: &ContractFixture) -> Vec<String> {
    let parties = app.get(&format!("{}/parties", path(contract)), &admin_token()).await;
    let mut ids: Vec<String> = parties.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|party| party["organisation_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn caf_signature(caf: &Value) -> Value {
    json!({"organisation_id": caf["id"], "signed_on": "2025-05-20", "signatory_name": "Marie Durand",
           "signatory_title": "Présidente", "second_signatory_name": "Paul Martin", "second_signatory_title": "Directeur"})
}

fn council_signature(organisation: &Value, signed_on: &str) -> Value {
    json!({"organisation_id": organisation["id"], "signed_on": signed_on, "signatory_name": "Le maire",
           "deliberation_date": "2025-05-12", "deliberation_ref": "DEL-2025-041"})
}

#[tokio::test]
async fn a_commune_joins_by_an_amendment_it_signs() {
    let app = spawn_app().await;
    let Signed { contract, caf, faucigny } = signed_ctg(&app).await;
    let cluses = commune(&app, CLUSES_SIREN).await;
    let before = app.get(&path(&contract), &admin_token()).await.body;
    let joining_perimeter = json!({"epcis": [FAUCIGNY], "communes": [CLUSES_INSEE]});

    // A commune joining the perimeter signs: as a party that signs, not as a mere payee.
    for add_parties in [json!([]), json!([{"organisation_id": cluses["id"], "roles": ["payee"]}])] {
        let answer = draft(
            &app,
            &contract,
            &json!({
                "effective_on": "2025-07-01", "rationale": "Adhésion de Cluses",
                "changes": {"perimeter": joining_perimeter, "add_parties": add_parties},
            }),
        )
        .await;
        let problem = answer.assert_problem(422, "VALIDATION_FAILED");
        assert_eq!(problem["errors"][0]["pointer"], "/changes/perimeter/communes/0", "{}", answer.text);
        assert_eq!(problem["errors"][0]["code"], "JOINING_COLLECTIVITY_MUST_SIGN");
    }
    // Nor can it be recorded as signed on paper: the newcomer signs with its délibération.
    let body = json!({
        "effective_on": "2025-07-01", "rationale": "Adhésion de Cluses",
        "changes": {"perimeter": joining_perimeter,
                    "add_parties": [{"organisation_id": cluses["id"], "roles": ["signatory", "payee"], "signatory_name": "Le maire"}]},
    });
    let mut on_paper = body.clone();
    on_paper["signed_on"] = json!("2025-06-01");
    let answer = draft(&app, &contract, &on_paper).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "NEWCOMER_SIGNS");

    let drafted = draft(&app, &contract, &body).await;
    assert_eq!(drafted.status, 201, "{}", drafted.text);
    let amendment = drafted.body["id"].as_str().unwrap().to_owned();
    assert_eq!(drafted.header("location").unwrap(), format!("{}/amendments/{amendment}", path(&contract)));
    assert_eq!(drafted.body["status"], "draft");
    assert_eq!(drafted.body["number"], Value::Null);
    let mut awaiting = ids(&drafted.body["awaiting_signatures"]);
    awaiting.sort_unstable();
    let mut expected =
        vec![caf["id"].as_str().unwrap(), faucigny["id"].as_str().unwrap(), cluses["id"].as_str().unwrap()];
    expected.sort_unstable();
    assert_eq!(awaiting, expected);
    // A draft changes nothing yet.
    let unchanged = app.get(&path(&contract), &admin_token()).await.body;
    assert_eq!(unchanged["perimeter"], before["perimeter"]);

    // Each signature is judged: the commune's délibération, the CAF's two names, who signs.
    let mut without_deliberation = council_signature(&cluses, "2025-05-15");
    without_deliberation["deliberation_date"] = Value::Null;
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &without_deliberation).await;
    let problem = answer.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(problem["errors"][0]["pointer"], "/deliberation_date");
    let mut one_name = caf_signature(&caf);
    one_name["second_signatory_name"] = Value::Null;
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &one_name).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "CAF_SIGNATORIES_MISSING");
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&annecy, "2025-05-15")).await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "NOT_A_SIGNATORY");
    // The contract was signed on 1 February 2024: its amendment is not signed before.
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&cluses, "2024-01-15")).await;
    assert_eq!(answer.validation_errors(), [("/signed_on", "SIGNED_BEFORE_CONTRACT")]);

    // A collectivity records its own signature, and nobody else's.
    let as_cluses = collectivity_token(&[CLUSES_SIREN]);
    let answer = sign_as(&app, &collectivity_token(&[FAUCIGNY]), &contract, &amendment, &caf_signature(&caf)).await;
    answer.assert_problem(403, "FORBIDDEN");
    let answer = sign_as(
        &app,
        &collectivity_token(&[FAUCIGNY]),
        &contract,
        &amendment,
        &council_signature(&faucigny, "2025-05-18"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "draft");
    assert_eq!(answer.body["awaiting_signatures"].as_array().unwrap().len(), 2);
    let again = sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&faucigny, "2025-05-18")).await;
    again.assert_problem(409, "CONFLICT");
    let contract_path = path(&contract);
    let stale = app
        .send(
            app.client
                .post(app.url(&format!("{contract_path}/amendments/{amendment}/signatures")))
                .bearer_auth(admin_token())
                .header("If-Match", "\"1\"")
                .json(&caf_signature(&caf)),
        )
        .await;
    stale.assert_problem(412, "PRECONDITION_FAILED");
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &caf_signature(&caf)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(ids(&answer.body["awaiting_signatures"]), [cluses["id"].as_str().unwrap()]);
    assert_eq!(app.get(&contract_path, &admin_token()).await.body["perimeter"], before["perimeter"]);

    // Until it is a party, Cluses does not reach the contract: the CAF records its signature.
    let answer = sign_as(&app, &as_cluses, &contract, &amendment, &council_signature(&cluses, "2025-06-03")).await;
    answer.assert_problem(404, "NOT_FOUND");
    // The last signature applies the amendment, dated by it.
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&cluses, "2025-06-03")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let signed = answer.body;
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["number"], 1);
    assert_eq!(signed["signed_on"], "2025-06-03");
    assert_eq!(signed["signatures"].as_array().unwrap().len(), 3);
    assert_eq!(signed["before"]["parties"].as_array().unwrap().len(), 2);
    assert_eq!(signed["after"]["parties"].as_array().unwrap().len(), 3);
    let amended = app.get(&contract_path, &admin_token()).await.body;
    assert_eq!(amended["perimeter"]["communes"], json!([CLUSES_INSEE]));
    let parties = app.get(&format!("{contract_path}/parties"), &admin_token()).await.body;
    let newcomer = parties["items"].as_array().unwrap().iter().find(|p| p["organisation_id"] == cluses["id"]).unwrap();
    assert_eq!(newcomer["signed_on"], "2025-06-03");
    assert_eq!(newcomer["deliberation_ref"], "DEL-2025-041");
    assert_eq!(newcomer["roles"], json!(["signatory", "payee"]));
    // Cluses now reaches the contract it signed.
    assert_eq!(app.get(&contract_path, &as_cluses).await.status, 200);

    // A signed amendment neither takes more signatures nor goes.
    let more = sign_as(&app, &admin_token(), &contract, &amendment, &caf_signature(&caf)).await;
    more.assert_problem(409, "CONFLICT");
    let etag = app.etag(&contract_path).await;
    let gone = app.delete_with(&format!("{contract_path}/amendments/{amendment}"), &admin_token(), &etag).await;
    gone.assert_problem(409, "CONFLICT");

    let history = app.get(&format!("{contract_path}/history?page_size=200"), &admin_token()).await.body;
    let entries = history["items"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "amended" && e["reason"].as_str().unwrap().starts_with("amendment 1:"))
    );
    assert!(entries.iter().any(|e| e["action"] == "created"
        && e["resource"] == "party"
        && e["after"]["organisation_id"] == cluses["id"]));
    let signing = entries.iter().find(|e| e["resource"] == "amendment" && e["action"] == "transitioned").unwrap();
    assert_eq!((&signing["before"]["status"], &signing["after"]["status"]), (&json!("draft"), &json!("signed")));
}

#[tokio::test]
async fn an_epci_merger_swaps_parties_and_the_record_keeps_the_one_that_left() {
    let app = spawn_app().await;
    let Signed { contract, caf, faucigny } = signed_ctg(&app).await;
    let contract_path = path(&contract);
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let stranger = epci(&app, "200033116").await;
    let parties_before = organisations_of(&app, &contract).await;

    // The last collectivity signatory of the perimeter stays, and so does the CAF.
    let answer = draft(&app, &contract, &json!({
        "effective_on": "2025-07-01", "rationale": "Retrait", "changes": {"remove_parties": [faucigny["id"], caf["id"], stranger["id"]]},
    }))
    .await;
    assert_eq!(
        answer.validation_errors(),
        [
            ("/changes/remove_parties", "LAST_COLLECTIVITY_SIGNATORY"),
            ("/changes/remove_parties/1", "CAF_STAYS"),
            ("/changes/remove_parties/2", "NOT_A_PARTY"),
        ]
    );
    assert_eq!(organisations_of(&app, &contract).await, parties_before);

    // The Faucigny's délibération and its place in a COPIL.
    let deliberation = upload(
        &app,
        &contract.id,
        &admin_token(),
        &format!("kind=deliberation&filename=del.pdf&party_id={}", contract.epci_party),
        pdf(2_000),
    )
    .await;
    assert_eq!(deliberation.status, 201, "{}", deliberation.text);
    let meeting = app
        .create(
            &format!("{contract_path}/meetings"),
            &json!({"kind": "copil", "held_on": "2024-06-10", "title": "COPIL 2024",
                "present": [caf["id"], faucigny["id"]], "decisions": ["Lancer le diagnostic"]}),
        )
        .await;

    // An action it piloted to completion.
    let done = app
        .create(
            &format!("{contract_path}/actions"),
            &json!({"code": "A1", "title": "Diagnostic petite enfance",
                "pilot_organisation_id": faucigny["id"], "status": "completed"}),
        )
        .await;

    // The merger: the new EPCI comes in and signs, the old one leaves without signing.
    let answer = draft(&app, &contract, &json!({
        "effective_on": "2025-07-01", "rationale": "Fusion des EPCI",
        "changes": {"perimeter": {"epcis": [ANNECY_AGGLO]},
                    "add_parties": [{"organisation_id": annecy["id"], "roles": ["signatory", "pilot"], "signatory_name": "La présidente"}],
                    "remove_parties": [faucigny["id"]]},
    }))
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let amendment = answer.body["id"].as_str().unwrap().to_owned();
    let mut awaiting = ids(&answer.body["awaiting_signatures"]);
    awaiting.sort_unstable();
    let mut expected = vec![caf["id"].as_str().unwrap(), annecy["id"].as_str().unwrap()];
    expected.sort_unstable();
    assert_eq!(awaiting, expected);
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&annecy, "2025-06-01")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &caf_signature(&caf)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "signed");

    let mut expected = vec![caf["id"].as_str().unwrap().to_owned(), annecy["id"].as_str().unwrap().to_owned()];
    expected.sort();
    assert_eq!(organisations_of(&app, &contract).await, expected);
    assert_eq!(app.get(&contract_path, &admin_token()).await.body["perimeter"]["epcis"], json!([ANNECY_AGGLO]));
    // Its délibération stays with the contract, linked to the amendment it left by.
    let document = app
        .get(&format!("{contract_path}/documents/{}", deliberation.body["id"].as_str().unwrap()), &admin_token())
        .await;
    assert_eq!(document.body["party_id"], Value::Null, "{}", document.text);
    assert_eq!(document.body["amendment_id"], amendment.as_str());
    assert_eq!(document.header("etag"), Some("\"2\""), "the move is a change of the document");
    // The COPIL it attended still names it, and still changes.
    let meeting_path = format!("{contract_path}/meetings/{}", meeting["id"].as_str().unwrap());
    let etag = app.etag(&meeting_path).await;
    let answer = app.patch_json(&meeting_path, &admin_token(), &etag, &json!({"title": "COPIL de lancement"})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["present"], json!([caf["id"], faucigny["id"]]));
    // The action keeps the pilot it had, and still changes.
    let action_path = format!("{contract_path}/actions/{}", done["id"].as_str().unwrap());
    let etag = app.etag(&action_path).await;
    let answer =
        app.patch_json(&action_path, &admin_token(), &etag, &json!({"title": "Diagnostic de la petite enfance"})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["pilot_organisation_id"], faucigny["id"]);
    // A new committee names parties only.
    let answer = app
        .post_json(
            &format!("{contract_path}/meetings"),
            &admin_token(),
            &json!({"kind": "copil", "held_on": "2025-09-10",
                   "title": "COPIL 2025", "present": [faucigny["id"]], "decisions": []}),
        )
        .await;
    assert_eq!(answer.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "NOT_A_PARTY");
}

#[tokio::test]
async fn a_draft_is_judged_again_when_it_applies_and_a_refused_signature_stores_nothing() {
    let app = spawn_app().await;
    let Signed { contract, caf, faucigny } = signed_ctg(&app).await;
    let contract_path = path(&contract);
    let answer = draft(&app, &contract, &json!({
        "effective_on": "2028-06-01", "rationale": "Nouveau titre", "changes": {"title": "CTG du Faucigny et des Glières"},
    }))
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let late = answer.body["id"].as_str().unwrap().to_owned();
    let answer = sign_as(&app, &admin_token(), &contract, &late, &council_signature(&faucigny, "2025-05-18")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    // Meanwhile, an amendment signed on paper shortens the contract: the draft's effective date
    // now falls after its end.
    let shorter = draft(&app, &contract, &json!({
        "signed_on": "2025-03-01", "effective_on": "2025-04-01", "rationale": "Raccourcissement", "changes": {"end_date": "2027-12-31"},
    }))
    .await;
    assert_eq!(shorter.status, 201, "{}", shorter.text);
    assert_eq!(shorter.body["number"], 1);
    assert_eq!(shorter.body["signatures"].as_array().unwrap().len(), 2);

    let version = app.etag(&contract_path).await;
    let answer = sign_as(&app, &admin_token(), &contract, &late, &caf_signature(&caf)).await;
    // The signature is fine; the amendment no longer fits the contract.
    let problem = answer.assert_problem(409, "CONFLICT");
    assert_eq!(problem["errors"][0]["pointer"], "/effective_on");
    assert_eq!(problem["errors"][0]["code"], "OUTSIDE_PERIOD");
    // Nothing was stored: the draft still waits for the CAF, the contract is as it was.
    assert_eq!(app.etag(&contract_path).await, version);
    let still = app.get(&format!("{contract_path}/amendments/{late}"), &admin_token()).await.body;
    assert_eq!(still["status"], "draft");
    assert_eq!(ids(&still["awaiting_signatures"]), [caf["id"].as_str().unwrap()]);

    // A draft rewriting a term an amendment signed since has changed would undo it: refused.
    let longer = draft(
        &app,
        &contract,
        &json!({
            "effective_on": "2025-06-01", "rationale": "Prolongation", "changes": {"end_date": "2029-12-31"},
        }),
    )
    .await;
    let longer = longer.body["id"].as_str().unwrap().to_owned();
    let shortest = draft(&app, &contract, &json!({
        "signed_on": "2025-04-01", "effective_on": "2025-04-15", "rationale": "Raccourcissement", "changes": {"end_date": "2027-06-30"},
    }))
    .await;
    assert_eq!(shortest.status, 201, "{}", shortest.text);
    let answer = sign_as(&app, &admin_token(), &contract, &longer, &council_signature(&faucigny, "2025-05-18")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = sign_as(&app, &admin_token(), &contract, &longer, &caf_signature(&caf)).await;
    let problem = answer.assert_problem(409, "CONFLICT");
    assert_eq!(problem["errors"][0]["code"], "AMENDED_SINCE", "{}", answer.text);
    assert!(problem["errors"][0]["detail"].as_str().unwrap().starts_with("amendment 2 changed end_date"));
    assert_eq!(app.get(&contract_path, &admin_token()).await.body["end_date"], "2027-06-30");

    // A draft that can no longer apply is abandoned.
    let etag = app.etag(&contract_path).await;
    let answer = app.delete_with(&format!("{contract_path}/amendments/{late}"), &admin_token(), &etag).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    let list = app.get(&format!("{contract_path}/amendments"), &admin_token()).await.body;
    let statuses: Vec<&str> = list["items"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["signed", "signed", "draft"]);
    app.get(&format!("{contract_path}/amendments/{late}"), &admin_token()).await.assert_problem(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_financial_annex_changes_by_amendment_as_corrections_of_its_commitments() {
    let app = spawn_app().await;
    let Signed { contract, caf, faucigny } = signed_ctg(&app).await;
    let contract_path = path(&contract);
    let payee = format!("{contract_path}/parties/{}", contract.epci_party);
    let etag = app.etag(&payee).await;
    let answer =
        app.patch_json(&payee, &admin_token(), &etag, &json!({"roles": ["signatory", "pilot", "payee"]})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let coordination = app
        .create(
            &format!("{contract_path}/funding-commitments"),
            &json!({"payee_id": faucigny["id"], "programme": "coordination", "basis": "lump_sum", "origin": "new",
                    "decision_date": "2024-03-01", "years": [{"year": 2025, "amount_cents": 1_000_000}]}),
        )
        .await;
    let commitment = coordination["id"].as_str().unwrap().to_owned();
    app.commit_commitment(&commitment).await;

    // The years are judged against the period as amended, the commitments against the contract.
    let extended = |years: Value| {
        json!({"effective_on": "2025-07-01", "rationale": "Prolongation et coordination 2029",
               "changes": {"end_date": "2029-12-31", "annex": [{"commitment_id": commitment, "years": years}]}})
    };
    let answer = draft(
        &app,
        &contract,
        &extended(json!([{"year": 2025, "amount_cents": 1_000_000}, {"year": 2030, "amount_cents": 5}])),
    )
    .await;
    assert_eq!(answer.validation_errors(), [("/changes/annex/0/years/1/year", "OUTSIDE_PERIOD")]);
    let mut stranger = extended(json!([{"year": 2025, "amount_cents": 1}]));
    stranger["changes"]["annex"][0]["commitment_id"] = json!(uuid::Uuid::new_v4());
    let answer = draft(&app, &contract, &stranger).await;
    assert_eq!(answer.validation_errors(), [("/changes/annex/0/commitment_id", "NOT_OF_CONTRACT")]);

    let years = json!([{"year": 2025, "amount_cents": 1_000_000}, {"year": 2029, "amount_cents": 1_234_567}]);
    let answer = draft(&app, &contract, &extended(years)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let amendment = answer.body["id"].as_str().unwrap().to_owned();
    let commitment_path = format!("/v1/funding-commitments/{commitment}");
    let untouched = app.get(&commitment_path, &admin_token()).await.body;
    assert_eq!(untouched["years"].as_array().unwrap().len(), 1, "a draft changes nothing");

    let answer =
        sign_as(&app, &admin_token(), &contract, &amendment, &council_signature(&faucigny, "2025-06-02")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = sign_as(&app, &admin_token(), &contract, &amendment, &caf_signature(&caf)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["before"]["annex"][0]["years"], json!([{"year": 2025, "amount_cents": 1_000_000}]));
    assert_eq!(answer.body["after"]["annex"][0]["years"][1], json!({"year": 2029, "amount_cents": 1_234_567}));

    let corrected = app.get(&commitment_path, &admin_token()).await.body;
    let amounts: Vec<(i64, i64)> = corrected["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|year| (year["year"].as_i64().unwrap(), year["amount_cents"].as_i64().unwrap()))
        .collect();
    assert_eq!(amounts, [(2025, 1_000_000), (2029, 1_234_567)]);
    let summary = app.get(&format!("{contract_path}/funding-summary"), &admin_token()).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert!(summary.text.contains("1234567"), "{}", summary.text);
    let history = app.get(&format!("{contract_path}/history?page_size=200"), &admin_token()).await.body;
    let correction = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"] == "funding_commitment" && e["action"] == "updated")
        .unwrap();
    assert!(correction["reason"].as_str().unwrap().starts_with("amendment 1: Prolongation"), "{correction}");
}
