//! An attacker's access matrix (API.md §2): every `/v1` operation of the OpenAPI document, sent by
//! every role at its own object and at someone else's, must get exactly the answer the contract
//! promises. A new route without an entry in the matrix fails the suite, and so does an entry
//! whose route is gone.
//!
//! The world, built through the API: the CAF of Haute-Savoie (74) and the CAF of Gironde (33); the
//! CC Faucigny - Glières (74) and Bordeaux Métropole (33) as organisations; contract A, a CTG of 74
//! over Faucigny, and contract B, a CTG of 33 over Bordeaux Métropole, each with its CAF and its
//! EPCI as parties, one axis and one action piloted by the EPCI, and the early-childcare coverage
//! rate of the EPCI followed with a baseline and targets; a signed twin of each carrying an
//! amendment (amendments exist only on signed contracts), where the EPCI is also payee, and a
//! committed funding commitment to the EPCI for its crèche with its schedule, one payment and one
//! piece of evidence received (money is committed only under a signed contract); that crèche, an
//! equipment in each département.
//!
//! The callers: an admin, a CAF agent of 74, an integration of 74 and the collectivity
//! Faucigny (party of A only). Their own object is A's (or, for the directory, the one located in
//! 74); someone else's is B's (or the one located in 33): every path parameter is B's.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::bonus_rates::ensure_rate_table;
use crate::fixtures::{
    ANNECY_AGGLO, BONNEVILLE_INSEE, BORDEAUX_METROPOLE, ContractFixture, FAUCIGNY, caf, draft_ctg, eaje, epci, sign,
};
use crate::helpers::{Answer, TestApp, admin_token, caf_agent_token, claims, collectivity_token, spawn_app, token_for};

const BORDEAUX_INSEE: &str = "33063";

// ------------------------------------------------------------------------------------------------
// Who may do what
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Admin,
    /// `caf_agent` with `departments: ["74"]`.
    CafAgent,
    /// `integration` with `departments: ["74"]`.
    Integration,
    /// `collectivity` with `sirens: ["200000172"]` (Faucigny, party of A only).
    Collectivity,
}

impl Role {
    pub(crate) const ALL: [Self; 4] = [Self::Admin, Self::CafAgent, Self::Integration, Self::Collectivity];

    pub(crate) fn token(self) -> String {
        match self {
            Self::Admin => admin_token(),
            Self::CafAgent => caf_agent_token(&["74"]),
            Self::Integration => integration_token(&["74"]),
            Self::Collectivity => collectivity_token(&[FAUCIGNY]),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Admin => "admin",
            Self::CafAgent => "caf_agent 74",
            Self::Integration => "integration 74",
            Self::Collectivity => "collectivity Faucigny",
        })
    }
}

fn integration_token(departments: &[&str]) -> String {
    let mut claims = claims("integration");
    claims.departments = departments.iter().map(|d| (*d).to_owned()).collect();
    token_for(&claims)
}

/// Whose object a request aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Contract A and what hangs under it; directory entries located in 74.
    Own,
    /// Contract B and what hangs under it; directory entries located in 33.
    Other,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Own => "own object",
            Self::Other => "someone else's object",
        })
    }
}

/// The status each role gets: (on its own object, on someone else's).
#[derive(Debug, Clone, Copy)]
struct Rule {
    admin: (u16, u16),
    caf_agent: (u16, u16),
    integration: (u16, u16),
    collectivity: (u16, u16),
}

impl Rule {
    fn expected(&self, role: Role, side: Side) -> u16 {
        let (own, other) = match role {
            Role::Admin => self.admin,
            Role::CafAgent => self.caf_agent,
            Role::Integration => self.integration,
            Role::Collectivity => self.collectivity,
        };
        match side {
            Side::Own => own,
            Side::Other => other,
        }
    }
}

const FORBIDDEN: u16 = 403;
const NOT_FOUND: u16 = 404;

/// Directory data (territories, organisations, equipments) and lists: every role reads them,
/// wherever they lie. Lists are filtered by scope: see `filters_and_page_tokens_do_not_widen_the_scope`.
const fn everyone(ok: u16) -> Rule {
    Rule { admin: (ok, ok), caf_agent: (ok, ok), integration: (ok, ok), collectivity: (ok, ok) }
}

/// Directory writes: admins anywhere, CAF agents where the entry is located. An entry of another
/// département is readable by all, so refusing it is 403, not 404.
const fn directory_write(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, FORBIDDEN),
        integration: (FORBIDDEN, FORBIDDEN),
        collectivity: (FORBIDDEN, FORBIDDEN),
    }
}

/// The indicator catalogue: admins only; every other role reads it and changes none of it.
const fn admin_only(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (FORBIDDEN, FORBIDDEN),
        integration: (FORBIDDEN, FORBIDDEN),
        collectivity: (FORBIDDEN, FORBIDDEN),
    }
}

/// Observations in bulk: every role writes inside its territory. "Someone else's" is a row of
/// département 33: the whole file is refused with 422 naming that row (places are public
/// reference data, so there is nothing to hide behind a 404).
const fn observation_write(ok: u16) -> Rule {
    Rule { admin: (ok, ok), caf_agent: (ok, 422), integration: (ok, 422), collectivity: (ok, 422) }
}

/// A bulk import: its sender and admins; to anyone else it does not exist.
const fn sender_only(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (NOT_FOUND, NOT_FOUND),
        integration: (NOT_FOUND, NOT_FOUND),
        collectivity: (NOT_FOUND, NOT_FOUND),
    }
}

/// The departmental summary: admins everywhere, CAF agents and integrations in their
/// départements (another one answers 404, as an unknown code); collectivities have none (403).
const fn department_summary(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, NOT_FOUND),
        integration: (ok, NOT_FOUND),
        collectivity: (FORBIDDEN, FORBIDDEN),
    }
}

/// Creating a contract: admins anywhere, CAF agents in their départements. "Someone else's" is a
/// contract of département 33: there is no object to hide yet, so it is 403.
const fn contract_create(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, FORBIDDEN),
        integration: (FORBIDDEN, FORBIDDEN),
        collectivity: (FORBIDDEN, FORBIDDEN),
    }
}

/// Reading a contract or what hangs under it: whoever has the contract in scope. Out of scope is
/// 404, exactly as a missing id.
const fn contract_read(ok: u16) -> Rule {
    Rule { admin: (ok, ok), caf_agent: (ok, NOT_FOUND), integration: (ok, NOT_FOUND), collectivity: (ok, NOT_FOUND) }
}

/// Reads of a contract's parts that show what lies outside it (the money of the CEJs a CTG
/// replaces): the CAF's roles only; a collectivity lacks the capability on a contract it reaches.
const fn caf_read(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, NOT_FOUND),
        integration: (ok, NOT_FOUND),
        collectivity: (FORBIDDEN, NOT_FOUND),
    }
}

/// Managing a contract (its content, lifecycle, parties, action plan, amendments): admins and the
/// CAF agents of its département. The other roles lack the capability on what they see (403) and
/// see nothing of the rest (404): scope comes before capability, so that someone else's contract
/// answers 404 whatever is asked of it (API.md §2, "out-of-scope objects answer 404").
const fn contract_manage(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, NOT_FOUND),
        integration: (FORBIDDEN, NOT_FOUND),
        collectivity: (FORBIDDEN, NOT_FOUND),
    }
}

/// What a collectivity contributes to a contract it is party to: its own party's délibération and
/// signature, the progress of the actions it pilots. The matrix sends exactly such a change; what
/// it may not change is in `a_collectivity_contributes_only_its_own_part`.
const fn collectivity_contribution(ok: u16) -> Rule {
    Rule {
        admin: (ok, ok),
        caf_agent: (ok, NOT_FOUND),
        integration: (FORBIDDEN, NOT_FOUND),
        collectivity: (ok, NOT_FOUND),
    }
}

/// Funding (commitments, their lifecycle, schedules and payments): admins and the CAF agents of
/// the contract's département, exactly as managing the contract (API.md §2). The other roles read
/// the funding of the contracts they reach, and change none of it.
const fn funding_write(ok: u16) -> Rule {
    contract_manage(ok)
}

/// Writes the table below as a `match` and as the list of the operations it names, so that the
/// coverage test can tell a stale entry from a missing one.
macro_rules! matrix {
    ($( ($method:literal, $template:literal) => $rule:expr, )*) => {
        /// Every operation the matrix has an expectation for.
        const OPERATIONS: &[(&str, &str)] = &[$(($method, $template)),*];

        /// Who may do what.
        #[allow(clippy::match_same_arms)]
        fn rule(method: &str, template: &str) -> Option<Rule> {
            match (method, template) {
                $(($method, $template) => Some($rule),)*
                _ => None,
            }
        }
    };
}

matrix! {
    // The enumerations and their French labels (API.md §3), read by all.
    ("get", "/v1/enums") => everyone(200),
    ("get", "/v1/indicators") => everyone(200),
    ("post", "/v1/indicators") => admin_only(201),
    ("get", "/v1/indicators/{code}") => everyone(200),
    ("patch", "/v1/indicators/{code}") => admin_only(200),
    ("delete", "/v1/indicators/{code}") => admin_only(204),
    // Filtered to the caller's territory: see observations::callers_write_and_read_only_their_territory.
    ("get", "/v1/indicators/{code}/observations") => everyone(200),
    ("post", "/v1/observations/bulk") => observation_write(200),
    // Every import here is an admin's: its sender reads it too, see
    // observation_imports::a_file_taken_as_a_job_is_followed_to_its_outcome_by_its_sender_only.
    ("get", "/v1/observation-imports/{id}") => sender_only(200),
    // Filtered to the caller's scope: see events::each_caller_follows_only_its_scope_and_its_own_cursors.
    ("get", "/v1/events") => everyone(200),

    // Territories: the reference, read by all.
    ("get", "/v1/departments") => everyone(200),
    ("get", "/v1/departments/{code}") => everyone(200),
    ("get", "/v1/departments/{code}/summary") => department_summary(200),
    ("get", "/v1/epcis") => everyone(200),
    ("get", "/v1/epcis/{siren}") => everyone(200),
    ("get", "/v1/communes") => everyone(200),
    ("get", "/v1/communes/{insee}") => everyone(200),

    // Organisations: a directory read by all, written by admins and the CAF agents where it lies.
    ("get", "/v1/organisations") => everyone(200),
    ("post", "/v1/organisations") => directory_write(201),
    ("get", "/v1/organisations/{id}") => everyone(200),
    ("patch", "/v1/organisations/{id}") => directory_write(200),
    ("delete", "/v1/organisations/{id}") => directory_write(204),

    // Equipments: the same.
    ("get", "/v1/equipments") => everyone(200),
    ("post", "/v1/equipments") => directory_write(201),
    ("get", "/v1/equipments/{id}") => everyone(200),
    ("patch", "/v1/equipments/{id}") => directory_write(200),
    ("delete", "/v1/equipments/{id}") => directory_write(204),

    // Contracts.
    ("get", "/v1/contracts") => everyone(200),
    ("post", "/v1/contracts") => contract_create(201),
    ("get", "/v1/contracts/{id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}") => contract_manage(200),
    ("post", "/v1/contracts/{id}/transitions") => contract_manage(200),
    ("post", "/v1/contracts/{id}/renewal") => contract_manage(201),
    // What signing the (draft) CTG would carry over from its CEJs.
    ("get", "/v1/contracts/{id}/cej-transfer") => caf_read(200),

    // Parties: a collectivity records its own délibération and signature.
    ("get", "/v1/contracts/{id}/parties") => contract_read(200),
    ("post", "/v1/contracts/{id}/parties") => contract_manage(201),
    ("get", "/v1/contracts/{id}/parties/{party_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/parties/{party_id}") => collectivity_contribution(200),
    ("delete", "/v1/contracts/{id}/parties/{party_id}") => contract_manage(204),

    // Action plan: a collectivity reports the progress of the actions it pilots.
    ("get", "/v1/contracts/{id}/axes") => contract_read(200),
    ("post", "/v1/contracts/{id}/axes") => contract_manage(201),
    ("get", "/v1/contracts/{id}/axes/{axis_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/axes/{axis_id}") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/axes/{axis_id}") => contract_manage(204),
    ("get", "/v1/contracts/{id}/actions") => contract_read(200),
    ("post", "/v1/contracts/{id}/actions") => contract_manage(201),
    ("get", "/v1/contracts/{id}/actions/{action_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/actions/{action_id}") => collectivity_contribution(200),
    ("delete", "/v1/contracts/{id}/actions/{action_id}") => contract_manage(204),

    // The project of territory: the CAF's roles write it, whoever reaches the contract reads it.
    ("get", "/v1/contracts/{id}/diagnostic") => contract_read(200),
    ("put", "/v1/contracts/{id}/diagnostic") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/diagnostic") => contract_manage(204),
    ("get", "/v1/contracts/{id}/meetings") => contract_read(200),
    ("post", "/v1/contracts/{id}/meetings") => contract_manage(201),
    ("get", "/v1/contracts/{id}/meetings/{meeting_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/meetings/{meeting_id}") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/meetings/{meeting_id}") => contract_manage(204),
    ("get", "/v1/contracts/{id}/evaluations") => contract_read(200),
    ("post", "/v1/contracts/{id}/evaluations") => contract_manage(201),
    ("get", "/v1/contracts/{id}/evaluations/{evaluation_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/evaluations/{evaluation_id}") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/evaluations/{evaluation_id}") => contract_manage(204),
    ("get", "/v1/contracts/{id}/party-commitments") => contract_read(200),
    ("post", "/v1/contracts/{id}/party-commitments") => contract_manage(201),
    ("get", "/v1/contracts/{id}/party-commitments/{commitment_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/party-commitments/{commitment_id}") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/party-commitments/{commitment_id}") => contract_manage(204),

    // Indicators a contract follows: read with the contract, written by those who manage it.
    ("get", "/v1/contracts/{id}/indicators") => contract_read(200),
    ("post", "/v1/contracts/{id}/indicators") => contract_manage(201),
    ("get", "/v1/contracts/{id}/indicators/{follow_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/indicators/{follow_id}") => contract_manage(200),
    ("delete", "/v1/contracts/{id}/indicators/{follow_id}") => contract_manage(204),

    // Amendments and history.
    ("get", "/v1/contracts/{id}/amendments") => contract_read(200),
    ("post", "/v1/contracts/{id}/amendments") => contract_manage(201),
    ("get", "/v1/contracts/{id}/amendments/{amendment_id}") => contract_read(200),
    ("delete", "/v1/contracts/{id}/amendments/{amendment_id}") => contract_manage(204),
    // The matrix sends the EPCI's own signature of a draft; a collectivity signing for another
    // organisation is in amendments::a_commune_joins_by_an_amendment_it_signs.
    ("post", "/v1/contracts/{id}/amendments/{amendment_id}/signatures") => collectivity_contribution(200),
    ("get", "/v1/contracts/{id}/history") => contract_read(200),

    // Documents: read by whoever reaches the contract; a collectivity uploads, renames and
    // removes its own party's délibération (the matrix sends exactly that; other kinds are
    // refused in documents::a_collectivity_uploads_its_own_deliberation_and_reads_the_rest).
    ("get", "/v1/contracts/{id}/documents") => contract_read(200),
    ("post", "/v1/contracts/{id}/documents") => collectivity_contribution(201),
    ("get", "/v1/contracts/{id}/documents/{doc_id}") => contract_read(200),
    ("patch", "/v1/contracts/{id}/documents/{doc_id}") => collectivity_contribution(200),
    ("delete", "/v1/contracts/{id}/documents/{doc_id}") => collectivity_contribution(204),
    ("get", "/v1/contracts/{id}/documents/{doc_id}/content") => contract_read(200),

    // Funding: read by whoever reaches the contract, written by admins and its CAF agents.
    ("get", "/v1/contracts/{id}/funding-commitments") => contract_read(200),
    ("post", "/v1/contracts/{id}/funding-commitments") => funding_write(201),
    ("get", "/v1/funding-commitments/{id}") => contract_read(200),
    ("patch", "/v1/funding-commitments/{id}") => funding_write(200),
    ("delete", "/v1/funding-commitments/{id}") => funding_write(204),
    ("post", "/v1/funding-commitments/{id}/transitions") => funding_write(200),
    ("get", "/v1/funding-commitments/{id}/schedule") => contract_read(200),
    ("post", "/v1/funding-commitments/{id}/schedule/generate") => funding_write(200),
    ("get", "/v1/funding-commitments/{id}/payments") => contract_read(200),
    ("post", "/v1/funding-commitments/{id}/payments") => funding_write(201),
    ("get", "/v1/funding-commitments/{id}/payments/{payment_id}") => contract_read(200),
    ("get", "/v1/contracts/{id}/funding-summary") => contract_read(200),
    ("get", "/v1/contracts/{id}/annex") => contract_read(200),

    // The bonus rate table: reference data every role reads, admins alone replace.
    ("get", "/v1/bonus-rates/{year}") => everyone(200),
    ("put", "/v1/bonus-rates/{year}") => admin_only(200),
    ("patch", "/v1/funding-commitments/{id}/years/{year}") => funding_write(200),
    // Evidence: the collectivity managing the commitment's equipment records it (the world's
    // commitment names the EPCI's crèche); only the CAF validates it, see
    // evidence::the_collectivity_managing_the_facility_records_evidence_and_only_the_caf_validates.
    ("get", "/v1/funding-commitments/{id}/evidence") => contract_read(200),
    ("post", "/v1/funding-commitments/{id}/evidence") => collectivity_contribution(201),
    ("get", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => contract_read(200),
    ("patch", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => collectivity_contribution(200),
    ("delete", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => collectivity_contribution(204),
    // The kinds of evidence each programme requires: data read by all, kept by admins.
    ("get", "/v1/evidence-requirements") => everyone(200),
    ("put", "/v1/evidence-requirements/{programme}") => admin_only(200),
}

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every (method, path template) under `/v1` in the OpenAPI document.
fn documented_operations() -> BTreeSet<(String, String)> {
    let document: Value = serde_json::from_str(&ctg_api::openapi::document_json()).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        if path != "/v1" && !path.starts_with("/v1/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if HTTP_METHODS.contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_matrix_covers_exactly_the_operations_of_the_document() {
    let documented = documented_operations();
    assert!(documented.len() >= 67, "the document lists only {} /v1 operations", documented.len());
    let known: BTreeSet<(String, String)> =
        OPERATIONS.iter().map(|(method, template)| ((*method).to_owned(), (*template).to_owned())).collect();
    assert_eq!(known.len(), OPERATIONS.len(), "an operation appears twice in the matrix");
    let missing: Vec<String> = documented
        .difference(&known)
        .map(|(method, template)| format!("{} {template}", method.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without an expectation in the access matrix (tests/api/access.rs): {missing:#?}"
    );
    let stale: Vec<String> = known
        .difference(&documented)
        .map(|(method, template)| format!("{} {template}", method.to_uppercase()))
        .collect();
    assert!(stale.is_empty(), "the access matrix names operations the document no longer has: {stale:#?}");
}

// ------------------------------------------------------------------------------------------------
// The world
// ------------------------------------------------------------------------------------------------

/// One side of the world: a département, its CAF, an EPCI and what hangs under them.
struct Territory {
    department: &'static str,
    /// A member commune of the EPCI, where the equipment stands.
    commune: &'static str,
    epci_siren: &'static str,
    caf: Value,
    epci: Value,
    /// A draft CTG of the CAF over the EPCI, both signatory parties (A or B).
    contract: ContractFixture,
    axis: String,
    /// Piloted by the EPCI.
    action: String,
    /// The coverage rate of the EPCI, followed by the draft contract.
    follow: String,
    /// The same contract, signed, with one amendment; its EPCI party is also payee.
    signed: ContractFixture,
    amendment: String,
    equipment: String,
    /// An EAJE of 100 places run by the EPCI, which its bonus territoire commitments fund.
    funded: String,
    /// A commitment of the signed contract to the EPCI, committed, its schedule generated and its
    /// first advance paid.
    commitment: String,
    payment: String,
    /// A piece of evidence of the commitment's 2025, received, not validated.
    evidence: String,
    /// A COPIL of the draft contract; the draft contract also has a diagnostic.
    meeting: String,
    /// The review of 2024 of the draft contract, assessing its axis and action.
    evaluation: String,
    /// The CAF's engineering support to the draft contract.
    party_commitment: String,
    /// A bulk file of the EPCI's coverage rate sent by an admin as a job.
    import: String,
}

pub(crate) struct World {
    own: Territory,
    other: Territory,
}

impl World {
    pub(crate) async fn build(app: &TestApp) -> Self {
        Self {
            own: Territory::build(app, "74", BONNEVILLE_INSEE, FAUCIGNY).await,
            other: Territory::build(app, "33", BORDEAUX_INSEE, BORDEAUX_METROPOLE).await,
        }
    }

    fn territory(&self, side: Side) -> &Territory {
        match side {
            Side::Own => &self.own,
            Side::Other => &self.other,
        }
    }
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

/// Makes names and codes unique across the whole run.
fn next() -> usize {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(1);
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

impl Territory {
    async fn build(app: &TestApp, department: &'static str, commune: &'static str, epci_siren: &'static str) -> Self {
        let caf = caf(app, department).await;
        let epci = epci(app, epci_siren).await;
        let contract = draft_ctg(app, department, &caf, &epci).await;
        let axis = app
            .create(
                &format!("/v1/contracts/{}/axes", contract.id),
                &json!({"code": "A1", "title": "Accueil du jeune enfant", "field": "petite_enfance"}),
            )
            .await;
        let action = app
            .create(
                &format!("/v1/contracts/{}/actions", contract.id),
                &json!({
                    "axis_id": axis["id"], "code": "A1.1", "title": "Ouvrir une micro-crèche",
                    "field": "petite_enfance", "pilot_organisation_id": epci["id"],
                }),
            )
            .await;
        let follow = app
            .create(
                &format!("/v1/contracts/{}/indicators", contract.id),
                &json!({
                    "indicator": "taux_couverture_eaje_epci", "geo_level": "epci", "geo_code": epci_siren,
                    "baseline": {"period": "2022", "value": "48.5"}, "targets": [{"period": "2026", "value": "55"}],
                }),
            )
            .await;
        let signed = draft_ctg(app, department, &caf, &epci).await;
        let payee = format!("/v1/contracts/{}/parties/{}", signed.id, signed.epci_party);
        let etag = app.etag(&payee).await;
        let answer =
            app.patch_json(&payee, &admin_token(), &etag, &json!({"roles": ["signatory", "pilot", "payee"]})).await;
        assert_eq!(answer.status, 200, "PATCH {payee}: {}", answer.text);
        sign(app, &signed).await;
        let amendment = app
            .post_guarded(
                &format!("/v1/contracts/{}/amendments", signed.id),
                &format!("/v1/contracts/{}", signed.id),
                &admin_token(),
                &json!({
                    "signed_on": "2025-06-01", "effective_on": "2025-07-01",
                    "rationale": "Prolongation d'un an", "changes": {"end_date": "2029-12-31"},
                }),
            )
            .await;
        assert_eq!(amendment.status, 201, "{}", amendment.text);
        let amendment = amendment.body;
        let equipment = app
            .create(
                "/v1/equipments",
                &json!({"type": "eaje", "name": format!("Multi-accueil {commune}"), "manager_id": epci["id"], "commune": commune,
                        "capacity_places": 40}),
            )
            .await;
        let mut territory = Self {
            department,
            commune,
            epci_siren,
            axis: id_of(&axis),
            action: id_of(&action),
            follow: id_of(&follow),
            amendment: id_of(&amendment),
            equipment: id_of(&equipment),
            funded: eaje(app, epci["id"].as_str().unwrap(), commune, 100).await,
            caf,
            epci,
            contract,
            signed,
            commitment: String::new(),
            payment: String::new(),
            evidence: String::new(),
            meeting: String::new(),
            evaluation: String::new(),
            party_commitment: String::new(),
            import: admin_import(app, epci_siren).await,
        };
        let (commitment, first_advance) = territory.fresh_committed_commitment(app).await;
        let payment = pay(app, &commitment, &first_advance, &admin_token(), &Uuid::new_v4().to_string()).await;
        assert_eq!(payment.status, 201, "{}", payment.text);
        territory.payment = id_of(&payment.body);
        territory.commitment = commitment;
        let evidence =
            app.create(&format!("/v1/funding-commitments/{}/evidence", territory.commitment), &evidence_body()).await;
        territory.evidence = id_of(&evidence);
        territory.fresh_diagnostic(app, &territory.contract).await;
        territory.meeting = territory.fresh_meeting(app).await;
        territory.evaluation = territory.review(app, 2024).await;
        territory.party_commitment = territory.fresh_party_commitment(app).await;
        territory
    }

    /// A new commitment of the CAF's party to the draft contract: its id.
    async fn fresh_party_commitment(&self, app: &TestApp) -> String {
        let body = json!({"party_id": self.contract.caf_party, "text": format!("Appui {}", next()), "engineering_support": true});
        id_of(&app.create(&format!("/v1/contracts/{}/party-commitments", self.contract.id), &body).await)
    }

    /// A new review of the draft contract, for a year from 2025 to 2028 (2024 is the world's):
    /// its id. A review of that year left by an earlier case is removed first, since each year
    /// is reviewed once.
    async fn fresh_evaluation(&self, app: &TestApp) -> String {
        static YEARS: AtomicUsize = AtomicUsize::new(0);
        let year = 2025 + i64::try_from(YEARS.fetch_add(1, Ordering::Relaxed) % 4).unwrap();
        self.review(app, year).await
    }

    /// The review of `year` of the draft contract, made anew: its id.
    async fn review(&self, app: &TestApp, year: i64) -> String {
        let path = format!("/v1/contracts/{}/evaluations", self.contract.id);
        let existing = app.get(&path, &admin_token()).await;
        if let Some(review) = existing.body["items"].as_array().unwrap().iter().find(|e| e["year"] == year) {
            let item = format!("{path}/{}", id_of(review));
            let etag = app.etag(&item).await;
            assert_eq!(app.delete_with(&item, &admin_token(), &etag).await.status, 204);
        }
        let body = json!({"kind": "yearly_review", "year": year, "held_on": "2025-02-01",
                          "axes": [{"axis_id": self.axis, "assessment": "partly"}],
                          "actions": [{"action_id": self.action, "assessment": "achieved", "comment": "Ouverte"}]});
        id_of(&app.create(&path, &body).await)
    }

    /// Records the diagnostic of `contract`, led by the CAF.
    async fn fresh_diagnostic(&self, app: &TestApp, contract: &ContractFixture) {
        let path = format!("/v1/contracts/{}/diagnostic", contract.id);
        let answer =
            app.send(app.client.put(app.url(&path)).bearer_auth(admin_token()).json(&self.diagnostic_body())).await;
        assert_eq!(answer.status, 201, "PUT {path}: {}", answer.text);
    }

    fn diagnostic_body(&self) -> Value {
        json!({"started_on": "2023-03-01", "led_by": [self.caf["id"]], "fields": ["petite_enfance"],
               "needs": [format!("Besoin {}", next())]})
    }

    /// A new COPIL of the draft contract: its id.
    async fn fresh_meeting(&self, app: &TestApp) -> String {
        let body = json!({"kind": "copil", "held_on": "2025-06-12", "title": format!("COPIL {}", next()),
                          "present": [self.caf["id"]]});
        id_of(&app.create(&format!("/v1/contracts/{}/meetings", self.contract.id), &body).await)
    }

    /// A new partner of kind `other` located in this département, used by nothing yet.
    async fn fresh_organisation(&self, app: &TestApp) -> String {
        let body = json!({"kind": "other", "name": format!("Partenaire {}", next()), "department": self.department});
        id_of(&app.create("/v1/organisations", &body).await)
    }

    /// A new piece of evidence of the world's commitment, received, not validated: its path.
    async fn fresh_evidence(&self, app: &TestApp) -> String {
        let path = format!("/v1/funding-commitments/{}/evidence", self.commitment);
        format!("{path}/{}", id_of(&app.create(&path, &evidence_body()).await))
    }

    async fn fresh_equipment(&self, app: &TestApp) -> String {
        let body = json!({
            "type": "ludotheque", "name": format!("Ludothèque {}", next()),
            "manager_id": self.epci["id"], "commune": self.commune,
        });
        id_of(&app.create("/v1/equipments", &body).await)
    }

    /// A new associated partner of the draft contract.
    async fn fresh_party(&self, app: &TestApp) -> String {
        let organisation = self.fresh_organisation(app).await;
        let body = json!({"organisation_id": organisation, "roles": ["associated_partner"]});
        id_of(&app.create(&format!("/v1/contracts/{}/parties", self.contract.id), &body).await)
    }

    /// A new délibération of the EPCI's party of the draft contract, uploaded by the admin: its path.
    async fn fresh_document(&self, app: &TestApp) -> String {
        let path = format!(
            "/v1/contracts/{}/documents?kind=deliberation&filename=deliberation.pdf&party_id={}",
            self.contract.id, self.contract.epci_party
        );
        let answer =
            app.send(app.client.post(app.url(&path)).bearer_auth(admin_token()).body("%PDF-1.4\n%%EOF\n")).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.header("location").unwrap().to_owned()
    }

    /// A new axis of the draft contract, with no action.
    async fn fresh_axis(&self, app: &TestApp) -> String {
        let body = json!({"code": format!("X{}", next()), "title": "Axe provisoire"});
        id_of(&app.create(&format!("/v1/contracts/{}/axes", self.contract.id), &body).await)
    }

    async fn fresh_action(&self, app: &TestApp) -> String {
        let body = json!({"code": format!("X{}", next()), "title": "Action provisoire"});
        id_of(&app.create(&format!("/v1/contracts/{}/actions", self.contract.id), &body).await)
    }

    /// A new indicator of the catalogue, published per département: one no contract follows yet.
    async fn fresh_indicator(app: &TestApp) -> String {
        let code = format!("suivi_{}", next());
        let body = json!({"code": code, "label": "Indicateur suivi", "unit": "count", "ascending": true,
                          "source": "Test", "geo_level": "department", "periodicity": "annual"});
        app.create("/v1/indicators", &body).await;
        code
    }

    /// A new follow-up of the draft contract, of a fresh indicator in its département.
    /// A new draft amendment of the signed contract, renaming it: the CAF and the EPCI sign it.
    async fn fresh_amendment_draft(&self, app: &TestApp) -> String {
        let signed = format!("/v1/contracts/{}", self.signed.id);
        let body =
            json!({"effective_on": "2026-02-01", "rationale": "Nouveau titre", "changes": {"title": "CTG renommée"}});
        let answer = app.post_guarded(&format!("{signed}/amendments"), &signed, &admin_token(), &body).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        id_of(&answer.body)
    }

    async fn fresh_follow(&self, app: &TestApp) -> String {
        let body = json!({"indicator": Self::fresh_indicator(app).await, "geo_level": "department", "geo_code": self.department});
        id_of(&app.create(&format!("/v1/contracts/{}/indicators", self.contract.id), &body).await)
    }

    /// A new draft commitment of the signed contract to the EPCI: 10 000 € for 2025, decided,
    /// ready to commit.
    async fn fresh_commitment(&self, app: &TestApp) -> String {
        let body = commitment_body(&self.epci["id"], &self.funded, 2025, 1_000_000);
        id_of(&app.create(&format!("/v1/contracts/{}/funding-commitments", self.signed.id), &body).await)
    }

    /// A new commitment, committed, with its schedule generated (advances of 3 500 € on 1 March
    /// and 1 October 2025, balance of 3 000 € on 31 May 2026), nothing paid: the commitment and
    /// its first advance line.
    async fn fresh_committed_commitment(&self, app: &TestApp) -> (String, String) {
        let id = self.fresh_commitment(app).await;
        let path = format!("/v1/funding-commitments/{id}");
        let generated = app.generate_schedule(&id, &json!({})).await;
        assert_eq!(generated.status, 200, "{}", generated.text);
        app.commit_commitment(&id).await;
        let schedule = app.get(&format!("{path}/schedule"), &admin_token()).await;
        assert_eq!(schedule.status, 200, "{}", schedule.text);
        let first_advance = schedule.body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["kind"] == "advance" && line["due_on"] == "2025-03-01")
            .unwrap_or_else(|| panic!("no advance on 2025-03-01: {}", schedule.text));
        (id, id_of(first_advance))
    }
}

/// A one-row file of the EPCI's coverage rate, sent by an admin as a job: the import's id.
async fn admin_import(app: &TestApp, epci_siren: &str) -> String {
    let file = format!(
        "indicator,geo_level,geo_code,period,value,source\ntaux_couverture_eaje_epci,epci,{epci_siren},2023,50,Cnaf\n"
    );
    let request = app
        .client
        .post(app.url("/v1/observations/bulk"))
        .bearer_auth(admin_token())
        .header("content-type", "text/csv")
        .header("prefer", "respond-async")
        .body(file);
    let answer = app.send(request).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    id_of(&answer.body)
}

/// A commitment to `payee` for 10 places of the EAJE `equipment` of `amount_cents` for `year`,
/// with its decision date.
fn commitment_body(payee: &Value, equipment: &str, year: i32, amount_cents: i64) -> Value {
    json!({
        "payee_id": payee, "equipment_id": equipment, "programme": "bonus_territoire_eaje", "basis": "per_place",
        "origin": "ex_cej", "units": 10, "years": [{"year": year, "amount_cents": amount_cents}], "decision_date": "2024-12-01",
    })
}

/// A piece of evidence of 2025, received.
fn evidence_body() -> Value {
    json!({"year": 2025, "kind": "activity_report", "received_on": "2026-03-15"})
}

/// The body of a payment of the whole first advance (3 500 €) on `line`.
fn payment_body(line: &str) -> Value {
    json!({"schedule_line_id": line, "paid_on": "2025-03-05", "amount_cents": 350_000, "reference": format!("MANDAT-2025-{:04}", next())})
}

/// Pays the first advance `line` of `commitment` as `token`, under the Idempotency-Key `key`.
async fn pay(app: &TestApp, commitment: &str, line: &str, token: &str, key: &str) -> Answer {
    app.send(
        app.client
            .post(app.url(&format!("/v1/funding-commitments/{commitment}/payments")))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&payment_body(line)),
    )
    .await
}

// ------------------------------------------------------------------------------------------------
// One request per operation
// ------------------------------------------------------------------------------------------------

/// A request ready to send: a plausible valid body, and the current ETag where one is needed.
pub(crate) struct Prepared {
    pub(crate) path: String,
    body: Option<Value>,
    if_match: Option<String>,
    /// An `Idempotency-Key` used by no other request.
    idempotency_key: Option<String>,
    /// A body that is not JSON, with its media type.
    upload: Option<(&'static str, String)>,
}

impl Prepared {
    fn read(path: String) -> Self {
        Self { path, body: None, if_match: None, idempotency_key: None, upload: None }
    }

    fn create(path: String, body: Value) -> Self {
        Self { path, body: Some(body), if_match: None, idempotency_key: None, upload: None }
    }

    fn upload(path: String, media_type: &'static str, text: String) -> Self {
        Self { upload: Some((media_type, text)), ..Self::read(path) }
    }

    /// A write guarded by the ETag of `resource`, read now by the admin.
    async fn guarded(app: &TestApp, path: String, resource: &str, body: Option<Value>) -> Self {
        Self { if_match: Some(app.etag(resource).await), path, body, idempotency_key: None, upload: None }
    }

    /// The same request under a fresh `Idempotency-Key`.
    fn with_idempotency_key(self) -> Self {
        Self { idempotency_key: Some(Uuid::new_v4().to_string()), ..self }
    }

    /// The same request with every id of the path replaced by one that exists nowhere.
    fn at_random_ids(&self) -> Self {
        let path = self
            .path
            .split('/')
            .map(
                |segment| {
                    if Uuid::parse_str(segment).is_ok() { Uuid::new_v4().to_string() } else { segment.to_owned() }
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        Self {
            path,
            body: self.body.clone(),
            if_match: self.if_match.as_ref().map(|_| "\"1\"".to_owned()),
            // A key is bound to its first request: the same key on another path would be refused
            // as reused, which is not what this request is about.
            idempotency_key: self.idempotency_key.as_ref().map(|_| Uuid::new_v4().to_string()),
            upload: self.upload.clone(),
        }
    }
}

/// The request for `method template` aimed at `side`'s object. Deletions and transitions act on
/// an object made for the occasion, so that every case starts from the same world.
pub(crate) async fn prepare(app: &TestApp, world: &World, method: &str, template: &str, side: Side) -> Prepared {
    let t = world.territory(side);
    let contract = format!("/v1/contracts/{}", t.contract.id);
    let signed = format!("/v1/contracts/{}", t.signed.id);
    let commitment = format!("/v1/funding-commitments/{}", t.commitment);
    let n = next();
    match (method, template) {
        ("get", "/v1/enums") => Prepared::read("/v1/enums".into()),
        ("get", "/v1/indicators") => Prepared::read("/v1/indicators?geo_level=epci".into()),
        ("post", "/v1/indicators") => Prepared::create(
            "/v1/indicators".into(),
            json!({"code": format!("indicateur_{n}"), "label": format!("Indicateur {n}"), "unit": "count", "ascending": true,
                   "source": "Test", "geo_level": "commune", "periodicity": "annual"}),
        ),
        ("get", "/v1/indicators/{code}") => Prepared::read("/v1/indicators/places_eaje".into()),
        ("get", "/v1/events") => Prepared::read("/v1/events?limit=5".into()),
        ("get", "/v1/indicators/{code}/observations") => {
            Prepared::read(format!("/v1/indicators/taux_couverture_eaje_epci/observations?geo_code={}", t.epci_siren))
        }
        ("get", "/v1/observation-imports/{id}") => Prepared::read(format!("/v1/observation-imports/{}", t.import)),
        ("post", "/v1/observations/bulk") => Prepared::upload(
            "/v1/observations/bulk".into(),
            "text/csv",
            format!(
                "indicator,geo_level,geo_code,period,value,source\ntaux_couverture_eaje_epci,epci,{},{},61.2,collectivite\n",
                t.epci_siren,
                1900 + n % 300
            ),
        ),
        ("patch", "/v1/indicators/{code}") => {
            let path = "/v1/indicators/places_eaje".to_owned();
            Prepared::guarded(app, path.clone(), &path, Some(json!({"source": format!("Cnaf ({n})")}))).await
        }
        ("delete", "/v1/indicators/{code}") => {
            let code = format!("a_supprimer_{n}");
            let body = json!({"code": code, "label": "À supprimer", "unit": "count", "ascending": true, "source": "Test",
                              "geo_level": "commune", "periodicity": "annual"});
            app.create("/v1/indicators", &body).await;
            let path = format!("/v1/indicators/{code}");
            Prepared::guarded(app, path.clone(), &path, None).await
        }
        ("get", "/v1/departments") => Prepared::read("/v1/departments".into()),
        ("get", "/v1/departments/{code}") => Prepared::read(format!("/v1/departments/{}", t.department)),
        ("get", "/v1/departments/{code}/summary") => {
            Prepared::read(format!("/v1/departments/{}/summary", t.department))
        }
        ("get", "/v1/epcis") => Prepared::read(format!("/v1/epcis?department={}", t.department)),
        ("get", "/v1/epcis/{siren}") => Prepared::read(format!("/v1/epcis/{}", t.epci_siren)),
        ("get", "/v1/communes") => Prepared::read(format!("/v1/communes?epci={}", t.epci_siren)),
        ("get", "/v1/communes/{insee}") => Prepared::read(format!("/v1/communes/{}", t.commune)),

        ("get", "/v1/organisations") => Prepared::read(format!("/v1/organisations?department={}", t.department)),
        ("post", "/v1/organisations") => Prepared::create(
            "/v1/organisations".into(),
            json!({"kind": "association", "name": format!("Association {n}"), "siren": luhn_siren(n), "department": t.department}),
        ),
        ("get", "/v1/organisations/{id}") => {
            Prepared::read(format!("/v1/organisations/{}", t.contract.epci_organisation))
        }
        ("patch", "/v1/organisations/{id}") => {
            let path = format!("/v1/organisations/{}", id_of(&t.epci));
            let body = json!({"name": format!("EPCI {} (fiche {n})", t.epci_siren)});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("delete", "/v1/organisations/{id}") => {
            let path = format!("/v1/organisations/{}", t.fresh_organisation(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/equipments") => Prepared::read(format!("/v1/equipments?department={}", t.department)),
        ("post", "/v1/equipments") => Prepared::create(
            "/v1/equipments".into(),
            json!({"type": "eaje", "name": format!("Crèche {n}"), "manager_id": t.epci["id"], "commune": t.commune}),
        ),
        ("get", "/v1/equipments/{id}") => Prepared::read(format!("/v1/equipments/{}", t.equipment)),
        ("patch", "/v1/equipments/{id}") => {
            let path = format!("/v1/equipments/{}", t.equipment);
            let body = json!({"capacity_places": 10 + n % 50});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("delete", "/v1/equipments/{id}") => {
            let path = format!("/v1/equipments/{}", t.fresh_equipment(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts") => Prepared::read(format!("/v1/contracts?department={}", t.department)),
        ("post", "/v1/contracts") => Prepared::create(
            "/v1/contracts".into(),
            json!({
                "kind": "ctg", "title": format!("CTG {n}"), "department": t.department,
                "start_date": "2025-01-01", "end_date": "2029-12-31",
                "fields": ["petite_enfance", "jeunesse", "parentalite", "logement"],
                "perimeter": {"epcis": [t.epci_siren]},
            }),
        ),
        ("get", "/v1/contracts/{id}") => Prepared::read(contract),
        ("patch", "/v1/contracts/{id}") => {
            let body = json!({"title": format!("CTG révisée {n}")});
            Prepared::guarded(app, contract.clone(), &contract, Some(body)).await
        }
        ("post", "/v1/contracts/{id}/transitions") => {
            let fresh = draft_ctg(app, t.department, &t.caf, &t.epci).await;
            let contract = format!("/v1/contracts/{}", fresh.id);
            let path = format!("{contract}/transitions");
            Prepared::guarded(app, path, &contract, Some(json!({"action": "submit"}))).await
        }

        // A signed CTG of its own for each request: a contract is renewed once.
        ("post", "/v1/contracts/{id}/renewal") => {
            let fresh = draft_ctg(app, t.department, &t.caf, &t.epci).await;
            sign(app, &fresh).await;
            Prepared::create(format!("/v1/contracts/{}/renewal", fresh.id), json!({"end_date": "2033-12-31"}))
        }

        ("get", "/v1/contracts/{id}/parties") => Prepared::read(format!("{contract}/parties")),
        ("post", "/v1/contracts/{id}/parties") => {
            let organisation = t.fresh_organisation(app).await;
            Prepared::create(
                format!("{contract}/parties"),
                json!({"organisation_id": organisation, "roles": ["funder", "associated_partner"]}),
            )
        }
        ("get", "/v1/contracts/{id}/parties/{party_id}") => {
            Prepared::read(format!("{contract}/parties/{}", t.contract.epci_party))
        }
        ("patch", "/v1/contracts/{id}/parties/{party_id}") => {
            // The EPCI's own party: what its collectivity may record.
            let path = format!("{contract}/parties/{}", t.contract.epci_party);
            let body = json!({"deliberation_ref": format!("DEL-2024-{n}"), "signed_on": "2024-02-01"});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("delete", "/v1/contracts/{id}/parties/{party_id}") => {
            let path = format!("{contract}/parties/{}", t.fresh_party(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/axes") => Prepared::read(format!("{contract}/axes")),
        ("post", "/v1/contracts/{id}/axes") => Prepared::create(
            format!("{contract}/axes"),
            json!({"code": format!("B{n}"), "title": "Soutenir la parentalité", "field": "parentalite"}),
        ),
        ("get", "/v1/contracts/{id}/axes/{axis_id}") => Prepared::read(format!("{contract}/axes/{}", t.axis)),
        ("patch", "/v1/contracts/{id}/axes/{axis_id}") => {
            let path = format!("{contract}/axes/{}", t.axis);
            let body = json!({"title": format!("Accueil du jeune enfant ({n})")});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("delete", "/v1/contracts/{id}/axes/{axis_id}") => {
            let path = format!("{contract}/axes/{}", t.fresh_axis(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/diagnostic") => Prepared::read(format!("{contract}/diagnostic")),
        ("put", "/v1/contracts/{id}/diagnostic") => {
            let path = format!("{contract}/diagnostic");
            Prepared::guarded(app, path.clone(), &path, Some(t.diagnostic_body())).await
        }
        ("delete", "/v1/contracts/{id}/diagnostic") => {
            // The diagnostic of a contract made for the occasion, so that the world keeps its own.
            let fresh = draft_ctg(app, t.department, &t.caf, &t.epci).await;
            t.fresh_diagnostic(app, &fresh).await;
            let path = format!("/v1/contracts/{}/diagnostic", fresh.id);
            Prepared::guarded(app, path.clone(), &path, None).await
        }
        ("get", "/v1/contracts/{id}/meetings") => Prepared::read(format!("{contract}/meetings")),
        ("post", "/v1/contracts/{id}/meetings") => Prepared::create(
            format!("{contract}/meetings"),
            json!({"kind": "cotech", "held_on": "2026-02-10", "title": format!("COTECH {n}"), "decisions": ["Relancer"]}),
        ),
        ("get", "/v1/contracts/{id}/meetings/{meeting_id}") => {
            Prepared::read(format!("{contract}/meetings/{}", t.meeting))
        }
        ("patch", "/v1/contracts/{id}/meetings/{meeting_id}") => {
            let path = format!("{contract}/meetings/{}", t.meeting);
            Prepared::guarded(app, path.clone(), &path, Some(json!({"title": format!("COPIL ({n})")}))).await
        }
        ("delete", "/v1/contracts/{id}/meetings/{meeting_id}") => {
            let path = format!("{contract}/meetings/{}", t.fresh_meeting(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/evaluations") => Prepared::read(format!("{contract}/evaluations")),
        ("post", "/v1/contracts/{id}/evaluations") => {
            // A final evaluation, made room for: the contract has one at most.
            let path = format!("{contract}/evaluations");
            let existing = app.get(&path, &admin_token()).await;
            if let Some(last) = existing.body["items"].as_array().unwrap().iter().find(|e| e["kind"] == "final") {
                let item = format!("{path}/{}", id_of(last));
                let etag = app.etag(&item).await;
                assert_eq!(app.delete_with(&item, &admin_token(), &etag).await.status, 204);
            }
            Prepared::create(path, json!({"kind": "final", "held_on": "2029-02-01", "summary": format!("Bilan {n}")}))
        }
        ("get", "/v1/contracts/{id}/evaluations/{evaluation_id}") => {
            Prepared::read(format!("{contract}/evaluations/{}", t.evaluation))
        }
        ("patch", "/v1/contracts/{id}/evaluations/{evaluation_id}") => {
            let path = format!("{contract}/evaluations/{}", t.evaluation);
            Prepared::guarded(app, path.clone(), &path, Some(json!({"summary": format!("Bilan ({n})")}))).await
        }
        ("delete", "/v1/contracts/{id}/evaluations/{evaluation_id}") => {
            let path = format!("{contract}/evaluations/{}", t.fresh_evaluation(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/party-commitments") => Prepared::read(format!("{contract}/party-commitments")),
        ("post", "/v1/contracts/{id}/party-commitments") => Prepared::create(
            format!("{contract}/party-commitments"),
            json!({"party_id": t.contract.epci_party, "field": "jeunesse", "text": format!("Un local {n}")}),
        ),
        ("get", "/v1/contracts/{id}/party-commitments/{commitment_id}") => {
            Prepared::read(format!("{contract}/party-commitments/{}", t.party_commitment))
        }
        ("patch", "/v1/contracts/{id}/party-commitments/{commitment_id}") => {
            let path = format!("{contract}/party-commitments/{}", t.party_commitment);
            Prepared::guarded(app, path.clone(), &path, Some(json!({"text": format!("Appui ({n})")}))).await
        }
        ("delete", "/v1/contracts/{id}/party-commitments/{commitment_id}") => {
            let path = format!("{contract}/party-commitments/{}", t.fresh_party_commitment(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/actions") => Prepared::read(format!("{contract}/actions")),
        ("post", "/v1/contracts/{id}/actions") => Prepared::create(
            format!("{contract}/actions"),
            json!({
                "axis_id": t.axis, "code": format!("C{n}"), "title": "Créer un relais petite enfance",
                "pilot_organisation_id": t.epci["id"], "estimated_budget_cents": 1_500_000,
            }),
        ),
        ("get", "/v1/contracts/{id}/actions/{action_id}") => Prepared::read(format!("{contract}/actions/{}", t.action)),
        ("patch", "/v1/contracts/{id}/actions/{action_id}") => {
            // Progress only: what the pilot collectivity may report.
            let path = format!("{contract}/actions/{}", t.action);
            Prepared::guarded(app, path.clone(), &path, Some(json!({"status": "in_progress"}))).await
        }
        ("delete", "/v1/contracts/{id}/actions/{action_id}") => {
            let path = format!("{contract}/actions/{}", t.fresh_action(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/indicators") => Prepared::read(format!("{contract}/indicators")),
        ("post", "/v1/contracts/{id}/indicators") => Prepared::create(
            format!("{contract}/indicators"),
            json!({
                "indicator": Territory::fresh_indicator(app).await, "geo_level": "department", "geo_code": t.department,
                "baseline": {"period": "2023", "value": "120"}, "targets": [{"period": "2027", "value": "150"}],
            }),
        ),
        ("get", "/v1/contracts/{id}/indicators/{follow_id}") => {
            Prepared::read(format!("{contract}/indicators/{}", t.follow))
        }
        ("patch", "/v1/contracts/{id}/indicators/{follow_id}") => {
            let path = format!("{contract}/indicators/{}", t.follow);
            let body = json!({"targets": [{"period": "2026", "value": format!("{}.5", 50 + n % 10)}]});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("delete", "/v1/contracts/{id}/indicators/{follow_id}") => {
            let path = format!("{contract}/indicators/{}", t.fresh_follow(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }

        ("get", "/v1/contracts/{id}/amendments") => Prepared::read(format!("{signed}/amendments")),
        ("post", "/v1/contracts/{id}/amendments") => {
            let body = json!({
                "signed_on": "2026-01-10", "effective_on": "2026-02-01",
                "rationale": format!("Avenant {n}"), "changes": {"title": format!("CTG avenant {n}")},
            });
            Prepared::guarded(app, format!("{signed}/amendments"), &signed, Some(body)).await
        }
        ("get", "/v1/contracts/{id}/amendments/{amendment_id}") => {
            Prepared::read(format!("{signed}/amendments/{}", t.amendment))
        }
        ("delete", "/v1/contracts/{id}/amendments/{amendment_id}") => {
            let path = format!("{signed}/amendments/{}", t.fresh_amendment_draft(app).await);
            Prepared::guarded(app, path, &signed, None).await
        }
        ("post", "/v1/contracts/{id}/amendments/{amendment_id}/signatures") => {
            let path = format!("{signed}/amendments/{}/signatures", t.fresh_amendment_draft(app).await);
            let body = json!({"organisation_id": t.epci["id"], "signed_on": "2026-01-15", "signatory_name": "Le président",
                              "deliberation_date": "2026-01-10", "deliberation_ref": format!("DEL-2026-{n}")});
            Prepared::guarded(app, path, &signed, Some(body)).await
        }
        ("get", "/v1/contracts/{id}/history") => Prepared::read(format!("{contract}/history")),

        ("get", "/v1/contracts/{id}/documents") => Prepared::read(format!("{contract}/documents")),
        ("post", "/v1/contracts/{id}/documents") => Prepared::upload(
            format!(
                "{contract}/documents?kind=deliberation&filename=deliberation-{n}.pdf&party_id={}",
                t.contract.epci_party
            ),
            "application/pdf",
            format!("%PDF-1.4\n% {n}\n%%EOF\n"),
        ),
        ("get", "/v1/contracts/{id}/documents/{doc_id}") => Prepared::read(t.fresh_document(app).await),
        ("patch", "/v1/contracts/{id}/documents/{doc_id}") => {
            let path = t.fresh_document(app).await;
            Prepared::guarded(app, path.clone(), &path, Some(json!({"filename": format!("deliberation-{n}.pdf")})))
                .await
        }
        ("delete", "/v1/contracts/{id}/documents/{doc_id}") => {
            let path = t.fresh_document(app).await;
            Prepared::guarded(app, path.clone(), &path, None).await
        }
        ("get", "/v1/contracts/{id}/documents/{doc_id}/content") => {
            Prepared::read(format!("{}/content", t.fresh_document(app).await))
        }
        ("get", "/v1/contracts/{id}/cej-transfer") => Prepared::read(format!("{contract}/cej-transfer")),

        // Funding hangs under the signed contract, where the EPCI is payee.
        ("get", "/v1/contracts/{id}/funding-commitments") => Prepared::read(format!("{signed}/funding-commitments")),
        ("post", "/v1/contracts/{id}/funding-commitments") => Prepared::create(
            format!("{signed}/funding-commitments"),
            commitment_body(&t.epci["id"], &t.funded, 2026, 500_000 + i64::try_from(n).unwrap()),
        ),
        ("get", "/v1/funding-commitments/{id}") => Prepared::read(commitment),
        ("patch", "/v1/funding-commitments/{id}") => {
            // A correction of a committed commitment, with its reason.
            let body = json!({"units": 10 + n % 50, "reason": format!("Correction du nombre de places ({n})")});
            Prepared::guarded(app, commitment.clone(), &commitment, Some(body)).await
        }
        ("delete", "/v1/funding-commitments/{id}") => {
            let path = format!("/v1/funding-commitments/{}", t.fresh_commitment(app).await);
            Prepared::guarded(app, path.clone(), &path, None).await
        }
        ("post", "/v1/funding-commitments/{id}/transitions") => {
            let fresh = format!("/v1/funding-commitments/{}", t.fresh_commitment(app).await);
            Prepared::guarded(app, format!("{fresh}/transitions"), &fresh, Some(json!({"action": "commit"}))).await
        }
        ("get", "/v1/funding-commitments/{id}/schedule") => Prepared::read(format!("{commitment}/schedule")),
        ("post", "/v1/funding-commitments/{id}/schedule/generate") => {
            let fresh = format!("/v1/funding-commitments/{}", t.fresh_commitment(app).await);
            Prepared::guarded(app, format!("{fresh}/schedule/generate"), &fresh, Some(json!({})))
                .await
                .with_idempotency_key()
        }
        ("get", "/v1/funding-commitments/{id}/payments") => Prepared::read(format!("{commitment}/payments")),
        ("post", "/v1/funding-commitments/{id}/payments") => {
            let (fresh, first_advance) = t.fresh_committed_commitment(app).await;
            Prepared::create(format!("/v1/funding-commitments/{fresh}/payments"), payment_body(&first_advance))
                .with_idempotency_key()
        }
        ("get", "/v1/funding-commitments/{id}/payments/{payment_id}") => {
            Prepared::read(format!("{commitment}/payments/{}", t.payment))
        }
        ("get", "/v1/contracts/{id}/funding-summary") => Prepared::read(format!("{signed}/funding-summary")),
        ("get", "/v1/contracts/{id}/annex") => Prepared::read(format!("{signed}/annex")),

        // One table, the same for both sides: rates belong to no territory.
        ("get", "/v1/bonus-rates/{year}") => {
            ensure_rate_table(app, 2025).await;
            Prepared::read("/v1/bonus-rates/2025".into())
        }
        ("put", "/v1/bonus-rates/{year}") => {
            ensure_rate_table(app, 2025).await;
            let path = "/v1/bonus-rates/2025".to_owned();
            let body = json!({"rates": [{"programme": "bonus_territoire_eaje", "band": 1 + n % 20, "per_place_cents": 360_000}]});
            Prepared::guarded(app, path.clone(), &path, Some(body)).await
        }
        ("patch", "/v1/funding-commitments/{id}/years/{year}") => {
            let fresh = format!("/v1/funding-commitments/{}", t.fresh_commitment(app).await);
            Prepared::guarded(app, format!("{fresh}/years/2025"), &fresh, Some(json!({"forecast_cents": 900_000})))
                .await
        }
        ("get", "/v1/funding-commitments/{id}/evidence") => Prepared::read(format!("{commitment}/evidence")),
        ("post", "/v1/funding-commitments/{id}/evidence") => {
            Prepared::create(format!("{commitment}/evidence"), evidence_body())
        }
        ("get", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => {
            Prepared::read(format!("{commitment}/evidence/{}", t.evidence))
        }
        ("patch", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => {
            let path = t.fresh_evidence(app).await;
            Prepared::guarded(app, path.clone(), &path, Some(json!({"note": format!("Version {n}")}))).await
        }
        ("delete", "/v1/funding-commitments/{id}/evidence/{evidence_id}") => {
            let path = t.fresh_evidence(app).await;
            Prepared::guarded(app, path.clone(), &path, None).await
        }
        ("get", "/v1/evidence-requirements") => Prepared::read("/v1/evidence-requirements".into()),
        // The seeded list again: the world's commitments are of another programme anyway.
        ("put", "/v1/evidence-requirements/{programme}") => {
            Prepared::create("/v1/evidence-requirements/other".into(), json!({"kinds": ["financial_statement"]}))
        }

        _ => panic!(
            "{} {template} has an expectation in the matrix but no request builder in `prepare`",
            method.to_uppercase()
        ),
    }
}

/// A valid SIREN (Luhn) that no fixture uses: 9 digits starting with 5.
fn luhn_siren(n: usize) -> String {
    let stem = format!("5{:07}", n % 10_000_000);
    let digits: Vec<u32> = stem.chars().map(|c| c.to_digit(10).unwrap()).collect();
    // With the check digit appended, the digits in even positions from the right are doubled:
    // here the stem's last digit is the first doubled one.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    format!("{stem}{}", (10 - sum % 10) % 10)
}

async fn send(app: &TestApp, method: &str, request: &Prepared, token: &str) -> Answer {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut builder = app.client.request(method, app.url(&request.path)).bearer_auth(token);
    if let Some(etag) = &request.if_match {
        builder = builder.header("If-Match", etag);
    }
    if let Some(key) = &request.idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    if let Some(body) = &request.body {
        builder = builder.json(body);
    }
    if let Some((media_type, text)) = &request.upload {
        builder = builder.header("Content-Type", *media_type).body(text.clone());
    }
    app.send(builder).await
}

fn code_of(status: u16) -> &'static str {
    match status {
        FORBIDDEN => "FORBIDDEN",
        NOT_FOUND => "NOT_FOUND",
        422 => "VALIDATION_FAILED",
        _ => "",
    }
}

fn describe(answer: &Answer) -> String {
    let code = answer.body["code"].as_str().unwrap_or("");
    let detail = answer.body["detail"].as_str().unwrap_or("");
    format!("{} {code} {detail}", answer.status).trim_end().to_owned()
}

/// `None` when `answer` is what the contract says, else what differs.
fn verdict(answer: &Answer, expected: u16) -> Option<String> {
    if answer.status != expected {
        return Some(format!("expected {expected} {}, got {}", code_of(expected), describe(answer)));
    }
    if expected >= 400 {
        let problem = answer.header("content-type") == Some("application/problem+json")
            && answer.body["code"] == code_of(expected)
            && answer.body["status"] == expected;
        if !problem {
            return Some(format!("expected a {expected} {} problem, got {}", code_of(expected), answer.text));
        }
    }
    None
}

/// An answer as a client can compare it: status, headers but the date and request id, body but
/// the request id.
fn comparable(answer: &Answer) -> (u16, Vec<(String, String)>, Value) {
    let mut headers: Vec<(String, String)> = answer
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    headers.sort();
    let mut body = answer.body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("request_id");
    }
    (answer.status, headers, body)
}

/// Whether the operation acts on a contract or on what hangs under it, hidden when out of scope.
fn in_a_contract(template: &str) -> bool {
    template.starts_with("/v1/contracts/{id}") || template.starts_with("/v1/funding-commitments/{id}")
}

/// Runs every documented operation as `role`, at its own object and at someone else's, and
/// lists every answer that differs from the matrix.
async fn run_matrix(role: Role) {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let token = role.token();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (method, template) in documented_operations() {
        let at = format!("{role}: {} {template}", method.to_uppercase());
        let Some(expectations) = rule(&method, &template) else {
            failures.push(format!("{at}: no expectation in the matrix"));
            continue;
        };
        for side in [Side::Own, Side::Other] {
            cases += 1;
            let expected = expectations.expected(role, side);
            let request = prepare(&app, &world, &method, &template, side).await;
            let answer = send(&app, &method, &request, &token).await;
            if let Some(problem) = verdict(&answer, expected) {
                failures.push(format!("{at} on {side}: {problem}"));
            }
            // Someone else's contract, or commitment, must be indistinguishable from none at all.
            if role != Role::Admin && side == Side::Other && in_a_contract(&template) {
                let missing = send(&app, &method, &request.at_random_ids(), &token).await;
                if comparable(&answer) != comparable(&missing) {
                    failures.push(format!(
                        "{at}: someone else's object answers differently from a random id:\n    theirs: {} {}\n    random: {} {}",
                        answer.status, answer.text, missing.status, missing.text
                    ));
                }
            }
        }
    }
    if cases != 2 * OPERATIONS.len() {
        failures.push(format!(
            "{role}: {cases} cases run for {} operations in the matrix (see the_matrix_covers_exactly_the_operations_of_the_document)",
            OPERATIONS.len()
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} answers differ from API.md §2:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn access_matrix_for_the_admin() {
    run_matrix(Role::Admin).await;
}

#[tokio::test]
async fn access_matrix_for_a_caf_agent() {
    run_matrix(Role::CafAgent).await;
}

#[tokio::test]
async fn access_matrix_for_an_integration() {
    run_matrix(Role::Integration).await;
}

#[tokio::test]
async fn access_matrix_for_a_collectivity() {
    run_matrix(Role::Collectivity).await;
}

// ------------------------------------------------------------------------------------------------
// What the matrix cannot say in one line
// ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_collectivity_contributes_only_its_own_part() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let a = &world.own.contract;
    let token = collectivity_token(&[FAUCIGNY]);
    let patch_as_collectivity = |path: String, body: Value| {
        let (app, token) = (&app, &token);
        async move {
            let etag = app.etag(&path).await;
            app.patch_json(&path, token, &etag, &body).await
        }
    };

    // Its own party's délibération and signature.
    let own_party = format!("/v1/contracts/{}/parties/{}", a.id, a.epci_party);
    let signature =
        json!({"deliberation_ref": "DEL-2024-031", "deliberation_date": "2024-01-20", "signed_on": "2024-02-01"});
    let answer = patch_as_collectivity(own_party.clone(), signature.clone()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["deliberation_ref"], "DEL-2024-031");
    assert_eq!(answer.body["signed_on"], "2024-02-01");

    // Not the CAF's party, not the roles of any party, not even with signature data alongside.
    let caf_party = format!("/v1/contracts/{}/parties/{}", a.id, a.caf_party);
    patch_as_collectivity(caf_party.clone(), signature.clone()).await.assert_problem(403, "FORBIDDEN");
    patch_as_collectivity(own_party.clone(), json!({"roles": ["signatory", "pilot", "payee"]}))
        .await
        .assert_problem(403, "FORBIDDEN");
    patch_as_collectivity(own_party.clone(), json!({"roles": ["signatory"], "deliberation_ref": "DEL-2024-032"}))
        .await
        .assert_problem(403, "FORBIDDEN");
    patch_as_collectivity(caf_party.clone(), json!({"roles": ["associated_partner"]}))
        .await
        .assert_problem(403, "FORBIDDEN");
    let untouched = app.get(&caf_party, &admin_token()).await;
    assert_eq!(untouched.body["deliberation_ref"], Value::Null);
    assert_eq!(untouched.body["signed_on"], Value::Null);
    assert_eq!(untouched.body["roles"], json!(["signatory", "payer"]));
    assert_eq!(untouched.header("etag"), Some("\"1\""));
    let own = app.get(&own_party, &admin_token()).await;
    assert_eq!(own.body["roles"], json!(["signatory", "pilot"]));
    assert_eq!(own.body["deliberation_ref"], "DEL-2024-031");

    // The progress of the action it pilots, and nothing else of it.
    let action = format!("/v1/contracts/{}/actions/{}", a.id, world.own.action);
    let answer = patch_as_collectivity(action.clone(), json!({"status": "in_progress"})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "in_progress");
    let answer = patch_as_collectivity(
        action.clone(),
        json!({"status": "completed", "actual_start": "2024-03-01", "actual_end": "2024-12-20"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    for forbidden in [
        json!({"title": "Ouvrir deux micro-crèches"}),
        json!({"status": "in_progress", "title": "Ouvrir deux micro-crèches"}),
        json!({"estimated_budget_cents": 99_000_000}),
        json!({"pilot_organisation_id": null}),
        json!({"planned_end": "2030-12-31"}),
        json!({"axis_id": null}),
    ] {
        let answer = patch_as_collectivity(action.clone(), forbidden.clone()).await;
        assert_eq!(answer.status, 403, "{forbidden}: {}", answer.text);
        answer.assert_problem(403, "FORBIDDEN");
    }
    let after = app.get(&action, &admin_token()).await;
    assert_eq!(after.body["title"], "Ouvrir une micro-crèche");
    assert_eq!(after.body["status"], "completed");

    // An action of its contract that another party pilots.
    let caf_action = app
        .create(
            &format!("/v1/contracts/{}/actions", a.id),
            &json!({"code": "A1.2", "title": "Former les assistantes maternelles", "pilot_organisation_id": world.own.caf["id"]}),
        )
        .await;
    let path = format!("/v1/contracts/{}/actions/{}", a.id, id_of(&caf_action));
    patch_as_collectivity(path, json!({"status": "in_progress"})).await.assert_problem(403, "FORBIDDEN");

    // Nothing of the contract itself.
    patch_as_collectivity(format!("/v1/contracts/{}", a.id), json!({"title": "CTG du Faucigny"}))
        .await
        .assert_problem(403, "FORBIDDEN");
}

#[tokio::test]
async fn a_caf_agent_cannot_move_directory_entries_out_of_its_departements() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let agent = caf_agent_token(&["74"]);

    // An equipment of 74 moved to a commune of 33.
    let equipment = format!("/v1/equipments/{}", world.own.equipment);
    let etag = app.etag(&equipment).await;
    app.patch_json(&equipment, &agent, &etag, &json!({"commune": BORDEAUX_INSEE}))
        .await
        .assert_problem(403, "FORBIDDEN");
    assert_eq!(app.etag(&equipment).await, etag, "the equipment moved");

    // A partner of 74 moved to 33.
    let organisation = format!("/v1/organisations/{}", world.own.fresh_organisation(&app).await);
    let etag = app.etag(&organisation).await;
    app.patch_json(&organisation, &agent, &etag, &json!({"department": "33"})).await.assert_problem(403, "FORBIDDEN");
    assert_eq!(app.get(&organisation, &admin_token()).await.body["department"], "74");

    // Where the entry lies decides, not who manages it: a facility of 74 run by a manager of 33
    // is the agent's to record; one of 33 run by a manager of 74 is not.
    let answer = app
        .post_json(
            "/v1/equipments",
            &agent,
            &json!({"type": "rpe", "name": "Relais", "manager_id": world.other.epci["id"], "commune": BONNEVILLE_INSEE}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    app.post_json(
        "/v1/equipments",
        &agent,
        &json!({"type": "rpe", "name": "Relais", "manager_id": world.own.epci["id"], "commune": BORDEAUX_INSEE}),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
}

/// The ids of the items of a contract list.
fn ids(answer: &Answer) -> BTreeSet<String> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn filters_and_page_tokens_do_not_widen_the_scope() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    // A third contract: of 74, over the CA du Grand Annecy, which Faucigny is no party to.
    let annecy = epci(&app, ANNECY_AGGLO).await;
    let c = draft_ctg(&app, "74", &world.own.caf, &annecy).await;
    let (own, other) = (&world.own, &world.other);

    let set = |ids: &[&String]| ids.iter().map(|id| (*id).clone()).collect::<BTreeSet<String>>();
    let everything = set(&[&own.contract.id, &own.signed.id, &other.contract.id, &other.signed.id, &c.id]);
    let of_74 = set(&[&own.contract.id, &own.signed.id, &c.id]);
    let of_faucigny = set(&[&own.contract.id, &own.signed.id]);
    let expectations = [
        (Role::Admin, &everything),
        (Role::CafAgent, &of_74),
        (Role::Integration, &of_74),
        (Role::Collectivity, &of_faucigny),
    ];

    // Each caller lists its contracts, and only them, whole or page by page.
    for (role, expected) in expectations {
        let token = role.token();
        let listed = ids(&app.get("/v1/contracts?page_size=200", &token).await);
        assert_eq!(&listed, expected, "{role}");
        let mut walked = BTreeSet::new();
        let mut path = "/v1/contracts?page_size=1".to_owned();
        loop {
            let page = app.get(&path, &token).await;
            let items = ids(&page);
            assert!(items.len() <= 1, "{role}: {}", page.text);
            walked.extend(items);
            match page.body["next_page_token"].as_str() {
                Some(next) => path = format!("/v1/contracts?page_size=1&page_token={next}"),
                None => break,
            }
        }
        assert_eq!(&walked, expected, "{role}: page by page");
    }

    // A filter naming someone else's territory finds nothing, rather than widening the scope.
    for role in [Role::CafAgent, Role::Integration, Role::Collectivity] {
        let token = role.token();
        for query in
            ["department=33", "siren=243300316", "commune=33063", "department=33&siren=243300316&commune=33063"]
        {
            let answer = app.get(&format!("/v1/contracts?{query}"), &token).await;
            assert_eq!(ids(&answer), BTreeSet::new(), "{role} ?{query}");
            assert_eq!(answer.body["next_page_token"], Value::Null, "{role} ?{query}");
        }
    }
    let collectivity = Role::Collectivity.token();
    let answer = app.get("/v1/contracts?department=74", &collectivity).await;
    assert_eq!(ids(&answer), of_faucigny, "collectivity ?department=74");
    let answer = app.get(&format!("/v1/contracts?siren={ANNECY_AGGLO}"), &collectivity).await;
    assert_eq!(ids(&answer), BTreeSet::new(), "collectivity ?siren=Annecy");
    let answer = app.get("/v1/contracts?department=33", &admin_token()).await;
    assert_eq!(ids(&answer), set(&[&other.contract.id, &other.signed.id]), "admin ?department=33");

    // A page token is bound to its caller: the admin's, replayed by anyone else, is refused.
    let first = app.get("/v1/contracts?page_size=1", &admin_token()).await;
    let token = first.body["next_page_token"].as_str().unwrap().to_owned();
    let next = app.get(&format!("/v1/contracts?page_size=1&page_token={token}"), &admin_token()).await;
    assert_eq!(next.status, 200, "{}", next.text);
    for role in [Role::CafAgent, Role::Integration, Role::Collectivity] {
        let answer = app.get(&format!("/v1/contracts?page_size=1&page_token={token}"), &role.token()).await;
        answer.assert_problem(400, "INVALID_PAGE_TOKEN");
    }
    // Nor does a CAF agent's token open for an agent of another département.
    let agent = app.get("/v1/contracts?page_size=1", &caf_agent_token(&["74"])).await;
    let token = agent.body["next_page_token"].as_str().unwrap().to_owned();
    app.get(&format!("/v1/contracts?page_size=1&page_token={token}"), &caf_agent_token(&["33"]))
        .await
        .assert_problem(400, "INVALID_PAGE_TOKEN");
}

#[tokio::test]
async fn someone_elses_ids_do_not_cross_into_my_contract() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let (own, other) = (&world.own, &world.other);
    let missing = Uuid::new_v4().to_string();

    // B's parties, axis, action, followed indicator and amendment addressed through A: no such thing
    // in A, for anyone.
    for role in Role::ALL {
        let token = role.token();
        for (path, random) in [
            (
                format!("/v1/contracts/{}/parties/{}", own.contract.id, other.contract.caf_party),
                format!("/v1/contracts/{}/parties/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/axes/{}", own.contract.id, other.axis),
                format!("/v1/contracts/{}/axes/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/actions/{}", own.contract.id, other.action),
                format!("/v1/contracts/{}/actions/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/indicators/{}", own.contract.id, other.follow),
                format!("/v1/contracts/{}/indicators/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/amendments/{}", own.signed.id, other.amendment),
                format!("/v1/contracts/{}/amendments/{missing}", own.signed.id),
            ),
            (
                format!("/v1/contracts/{}/meetings/{}", own.contract.id, other.meeting),
                format!("/v1/contracts/{}/meetings/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/evaluations/{}", own.contract.id, other.evaluation),
                format!("/v1/contracts/{}/evaluations/{missing}", own.contract.id),
            ),
            (
                format!("/v1/contracts/{}/party-commitments/{}", own.contract.id, other.party_commitment),
                format!("/v1/contracts/{}/party-commitments/{missing}", own.contract.id),
            ),
        ] {
            let theirs = app.get(&path, &token).await;
            theirs.assert_problem(404, "NOT_FOUND");
            let none = app.get(&random, &token).await;
            assert_eq!(comparable(&theirs), comparable(&none), "{role} GET {path}");
        }
    }

    // Nor can they be written through A.
    let agent = caf_agent_token(&["74"]);
    let b_action = format!("/v1/contracts/{}/actions/{}", other.contract.id, other.action);
    let b_etag = app.etag(&b_action).await;
    let through_a = format!("/v1/contracts/{}/actions/{}", own.contract.id, other.action);
    app.patch_json(&through_a, &agent, &b_etag, &json!({"title": "Détournée"})).await.assert_problem(404, "NOT_FOUND");
    let b_party = format!("/v1/contracts/{}/parties/{}", other.contract.id, other.contract.epci_party);
    let b_party_etag = app.etag(&b_party).await;
    let through_a = format!("/v1/contracts/{}/parties/{}", own.contract.id, other.contract.epci_party);
    app.delete_with(&through_a, &agent, &b_party_etag).await.assert_problem(404, "NOT_FOUND");
    assert_eq!(app.etag(&b_action).await, b_etag, "B's action changed");
    assert_eq!(app.etag(&b_party).await, b_party_etag, "B's party changed");

    // B's ids in a body are as unknown as random ones.
    let a = format!("/v1/contracts/{}", own.contract.id);
    let etag = app.etag(&a).await;
    let theirs = app.patch_json(&a, &agent, &etag, &json!({"predecessor_ids": [other.contract.id]})).await;
    theirs.assert_problem(422, "VALIDATION_FAILED");
    let none = app.patch_json(&a, &agent, &etag, &json!({"predecessor_ids": [missing]})).await;
    assert_eq!(comparable(&theirs), comparable(&none), "predecessor_ids");
    let action = |axis: &str| json!({"code": "Z9", "title": "Action", "axis_id": axis});
    let theirs = app.post_json(&format!("{a}/actions"), &agent, &action(&other.axis)).await;
    assert_eq!(theirs.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "UNKNOWN_AXIS");
    let none = app.post_json(&format!("{a}/actions"), &agent, &action(&missing)).await;
    assert_eq!(comparable(&theirs), comparable(&none), "axis_id");
}

#[tokio::test]
async fn someone_elses_funding_ids_do_not_cross_into_my_commitments() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let (own, other) = (&world.own, &world.other);
    let missing = Uuid::new_v4().to_string();

    // B's payment addressed through A's commitment: no such payment in A, for anyone.
    for role in Role::ALL {
        let token = role.token();
        let path = format!("/v1/funding-commitments/{}/payments/{}", own.commitment, other.payment);
        let theirs = app.get(&path, &token).await;
        theirs.assert_problem(404, "NOT_FOUND");
        let none = app.get(&format!("/v1/funding-commitments/{}/payments/{missing}", own.commitment), &token).await;
        assert_eq!(comparable(&theirs), comparable(&none), "{role} GET {path}");
    }

    // B's evidence addressed through A's commitment: no such evidence in A, to read or to change.
    for role in Role::ALL {
        let token = role.token();
        let path = format!("/v1/funding-commitments/{}/evidence/{}", own.commitment, other.evidence);
        let theirs = app.get(&path, &token).await;
        theirs.assert_problem(404, "NOT_FOUND");
        let none = app.get(&format!("/v1/funding-commitments/{}/evidence/{missing}", own.commitment), &token).await;
        assert_eq!(comparable(&theirs), comparable(&none), "{role} GET {path}");
        let patched = app.patch_json(&path, &token, "*", &json!({"note": "x"})).await;
        patched.assert_problem(404, "NOT_FOUND");
    }
    let b_evidence = format!("/v1/funding-commitments/{}/evidence/{}", other.commitment, other.evidence);
    assert_eq!(app.get(&b_evidence, &admin_token()).await.body["note"], Value::Null, "B's evidence changed");

    // B's schedule line paid through A's commitment: as unknown as a random line, and nothing paid.
    let agent = caf_agent_token(&["74"]);
    let (a_commitment, _) = own.fresh_committed_commitment(&app).await;
    let b_schedule = format!("/v1/funding-commitments/{}/schedule", other.commitment);
    let before = app.get(&b_schedule, &admin_token()).await;
    let b_line = id_of(
        before.body["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|line| line["paid_cents"] == 0)
            .unwrap_or_else(|| panic!("B has no unpaid line: {}", before.text)),
    );
    let theirs = pay(&app, &a_commitment, &b_line, &agent, &Uuid::new_v4().to_string()).await;
    assert_eq!(theirs.assert_problem(422, "VALIDATION_FAILED")["errors"][0]["code"], "UNKNOWN_SCHEDULE_LINE");
    let none = pay(&app, &a_commitment, &missing, &agent, &Uuid::new_v4().to_string()).await;
    assert_eq!(comparable(&theirs), comparable(&none), "schedule_line_id");
    let a_payments = app.get(&format!("/v1/funding-commitments/{a_commitment}/payments"), &admin_token()).await;
    assert_eq!(ids(&a_payments), BTreeSet::new(), "a payment was recorded on A");
    assert_eq!(app.get(&b_schedule, &admin_token()).await.body, before.body, "B's schedule changed");

    // B's EPCI as the payee of A's contract: as unknown as a random organisation.
    let a_commitments = format!("/v1/contracts/{}/funding-commitments", own.signed.id);
    let theirs =
        app.post_json(&a_commitments, &agent, &commitment_body(&other.epci["id"], &own.funded, 2025, 100_000)).await;
    let codes: Vec<&str> = theirs.assert_problem(422, "VALIDATION_FAILED")["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    // A's crèche is not B's EPCI's to be paid for either.
    assert_eq!(codes, vec!["EQUIPMENT_OF_ANOTHER_MANAGER", "PAYEE_NOT_A_PARTY"]);
    let none =
        app.post_json(&a_commitments, &agent, &commitment_body(&json!(missing), &own.funded, 2025, 100_000)).await;
    assert_eq!(comparable(&theirs), comparable(&none), "payee_id");
}

/// GET `path` as `token` asking for CSV.
async fn get_csv(app: &TestApp, path: &str, token: &str) -> Answer {
    app.send(app.client.get(app.url(path)).bearer_auth(token).header("Accept", "text/csv")).await
}

#[tokio::test]
async fn the_funding_summary_as_csv_keeps_the_scope() {
    let app = spawn_app().await;
    let world = World::build(&app).await;
    let own = format!("/v1/contracts/{}/funding-summary", world.own.signed.id);
    let theirs = format!("/v1/contracts/{}/funding-summary", world.other.signed.id);
    let random = format!("/v1/contracts/{}/funding-summary", Uuid::new_v4());
    for role in Role::ALL {
        let token = role.token();
        let answer = get_csv(&app, &own, &token).await;
        assert_eq!(answer.status, 200, "{role}: {}", answer.text);
        assert!(
            answer.header("content-type").is_some_and(|t| t.starts_with("text/csv")),
            "{role}: {:?}",
            answer.headers
        );
        // The world's commitment: 10 000 € for 2025, all scheduled, 3 500 € paid.
        assert!(
            answer.text.contains("\r\n2025;bonus_territoire_eaje;1000000;1000000;350000;650000;"),
            "{role}: {}",
            answer.text
        );
        let answer = get_csv(&app, &theirs, &token).await;
        if role == Role::Admin {
            assert_eq!(answer.status, 200, "{role}: {}", answer.text);
            continue;
        }
        answer.assert_problem(404, "NOT_FOUND");
        let none = get_csv(&app, &random, &token).await;
        assert_eq!(comparable(&answer), comparable(&none), "{role}: someone else's summary as CSV");
    }
}

#[tokio::test]
async fn server_owned_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    let caf74 = caf(&app, "74").await;
    let faucigny = epci(&app, FAUCIGNY).await;
    let a = draft_ctg(&app, "74", &caf74, &faucigny).await;
    let contract = json!({
        "kind": "ctg", "title": "CTG", "department": "74", "start_date": "2025-01-01", "end_date": "2029-12-31",
        "fields": ["petite_enfance"], "perimeter": {"epcis": [FAUCIGNY]},
    });
    let with = |mut body: Value, field: &str, value: Value| {
        body.as_object_mut().unwrap().insert(field.to_owned(), value);
        body
    };

    // Creating a contract that says it is already signed, at some version, under a chosen id.
    for token in [admin_token(), caf_agent_token(&["74"])] {
        for (field, value) in [
            ("status", json!("signed")),
            ("version", json!(42)),
            ("id", json!(Uuid::new_v4())),
            ("created_at", json!("2020-01-01T00:00:00Z")),
        ] {
            let answer = app.post_json("/v1/contracts", &token, &with(contract.clone(), field, value)).await;
            let body = answer.assert_problem(400, "READ_ONLY_FIELD");
            assert_eq!(body["errors"][0]["pointer"], format!("/{field}"), "{}", answer.text);
        }
    }
    let mut covered = contract.clone();
    covered["perimeter"]["covered_population"] = json!(1_000_000);
    app.post_json("/v1/contracts", &admin_token(), &covered).await.assert_problem(400, "READ_ONLY_FIELD");
    let listed = app.get("/v1/contracts", &admin_token()).await;
    assert_eq!(ids(&listed), BTreeSet::from([a.id.clone()]), "a refused body created something");

    // Moving a contract to another département, or smuggling an unknown field.
    let path = format!("/v1/contracts/{}", a.id);
    let etag = app.etag(&path).await;
    for token in [admin_token(), caf_agent_token(&["74"])] {
        for (body, code, pointer) in [
            (json!({"department": "33"}), "READ_ONLY_FIELD", "/department"),
            (json!({"title": "CTG", "department": "33"}), "READ_ONLY_FIELD", "/department"),
            (json!({"status": "signed"}), "READ_ONLY_FIELD", "/status"),
            (json!({"version": 99}), "READ_ONLY_FIELD", "/version"),
            (json!({"kind": "cej"}), "READ_ONLY_FIELD", "/kind"),
            (json!({"title": "CTG", "owner": "me"}), "UNKNOWN_FIELD", "/owner"),
            (json!({"departments": ["33"]}), "UNKNOWN_FIELD", "/departments"),
        ] {
            let answer = app.patch_json(&path, &token, &etag, &body).await;
            let problem = answer.assert_problem(400, code);
            assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}: {}", answer.text);
        }
    }
    let after = app.get(&path, &admin_token()).await;
    assert_eq!(after.body["department"], "74");
    assert_eq!(after.header("etag"), Some(etag.as_str()), "a refused patch changed the contract");

    // The same on the resources under it and in the directory.
    let party = format!("{path}/parties/{}", a.epci_party);
    let etag = app.etag(&party).await;
    let other_org = caf74["id"].clone();
    app.patch_json(&party, &admin_token(), &etag, &json!({"organisation_id": other_org}))
        .await
        .assert_problem(400, "READ_ONLY_FIELD");
    app.patch_json(&party, &collectivity_token(&[FAUCIGNY]), &etag, &json!({"contract_id": Uuid::new_v4()}))
        .await
        .assert_problem(400, "READ_ONLY_FIELD");
    app.post_json(
        "/v1/equipments",
        &admin_token(),
        &json!({"type": "eaje", "name": "Crèche", "manager_id": faucigny["id"], "commune": BONNEVILLE_INSEE, "department": "33"}),
    )
    .await
    .assert_problem(400, "READ_ONLY_FIELD");
    app.post_json(
        &format!("{path}/actions"),
        &admin_token(),
        &json!({"code": "Z1", "title": "Action", "contract_id": Uuid::new_v4()}),
    )
    .await
    .assert_problem(400, "READ_ONLY_FIELD");
    app.post_json(
        "/v1/organisations",
        &caf_agent_token(&["74"]),
        &json!({"kind": "other", "name": "Partenaire", "department": "74", "version": 3}),
    )
    .await
    .assert_problem(400, "READ_ONLY_FIELD");
}
