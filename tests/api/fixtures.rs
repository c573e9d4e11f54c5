//! Realistic data built through the API: CAFs, collectivities from the real reference, contracts
//! with parties, ready to be submitted and signed.

use serde_json::{Value, json};

use crate::helpers::{Answer, TestApp, admin_token};

/// The CC Faucigny - Glières (74) and two of its communes; the CA du Grand Annecy (74) for
/// someone else's territory; Bordeaux Métropole (33) for another département.
pub const FAUCIGNY: &str = "200000172";
pub const BONNEVILLE_SIREN: &str = "217400423";
pub const BONNEVILLE_INSEE: &str = "74042";
pub const ANNECY_AGGLO: &str = "200066793";
pub const BORDEAUX_METROPOLE: &str = "243300316";

impl TestApp {
    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).bearer_auth(token).json(body)).await
    }

    pub async fn patch_json(&self, path: &str, token: &str, etag: &str, body: &Value) -> Answer {
        self.send(self.client.patch(self.url(path)).bearer_auth(token).header("If-Match", etag).json(body)).await
    }

    pub async fn delete_with(&self, path: &str, token: &str, etag: &str) -> Answer {
        self.send(self.client.delete(self.url(path)).bearer_auth(token).header("If-Match", etag)).await
    }

    /// POSTs as admin and returns the created body, asserting 201.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let answer = self.post_json(path, &admin_token(), body).await;
        assert_eq!(answer.status, 201, "POST {path}: {}", answer.text);
        answer.body
    }

    /// The current ETag of a resource, read as admin.
    pub async fn etag(&self, path: &str) -> String {
        let answer = self.get(path, &admin_token()).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
        answer.header("etag").unwrap().to_owned()
    }

    /// POSTs `body` to `path` with `If-Match` set to the current ETag of `resource`: a change to a
    /// versioned resource that is not a PATCH (an amendment, a schedule generation).
    pub async fn post_guarded(&self, path: &str, resource: &str, token: &str, body: &Value) -> Answer {
        let etag = self.etag(resource).await;
        self.send(self.client.post(self.url(path)).bearer_auth(token).header("If-Match", etag).json(body)).await
    }

    /// Commits the commitment `commitment_id` (its decision date set) as admin, with its current
    /// ETag.
    pub async fn commit_commitment(&self, commitment_id: &str) {
        let commitment = format!("/v1/funding-commitments/{commitment_id}");
        let body = json!({"action": "commit"});
        let answer = self.post_guarded(&format!("{commitment}/transitions"), &commitment, &admin_token(), &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }

    /// Generates a commitment's schedule with `rule`, with the commitment's current ETag.
    pub async fn generate_schedule(&self, commitment_id: &str, rule: &Value) -> Answer {
        let commitment = format!("/v1/funding-commitments/{commitment_id}");
        self.post_guarded(&format!("{commitment}/schedule/generate"), &commitment, &admin_token(), rule).await
    }

    pub async fn transition(&self, contract_id: &str, token: &str, body: &Value) -> Answer {
        let etag = self.etag(&format!("/v1/contracts/{contract_id}")).await;
        self.send(
            self.client
                .post(self.url(&format!("/v1/contracts/{contract_id}/transitions")))
                .bearer_auth(token)
                .header("If-Match", etag)
                .json(body),
        )
        .await
    }
}

/// The CAF of a département (SIREN of the Haute-Savoie CAF, or a valid stand-in per département).
pub async fn caf(app: &TestApp, department: &str) -> Value {
    let siren = match department {
        "74" => "779311224",
        "33" => "781985114",
        _ => panic!("no CAF SIREN for {department} in the fixtures"),
    };
    app.create(
        "/v1/organisations",
        &json!({"kind": "caf", "name": format!("CAF {department}"), "siren": siren, "department": department}),
    )
    .await
}

pub async fn epci(app: &TestApp, siren: &str) -> Value {
    app.create("/v1/organisations", &json!({"kind": "epci", "siren": siren})).await
}

pub async fn commune(app: &TestApp, siren: &str) -> Value {
    app.create("/v1/organisations", &json!({"kind": "commune", "siren": siren})).await
}

/// A draft CTG of the CAF of `department` over `epci_siren`, with the CAF and the EPCI as
/// signatory parties and the minimum content: ready to submit.
pub struct ContractFixture {
    pub id: String,
    pub caf_party: String,
    pub epci_party: String,
    pub epci_organisation: String,
}

pub async fn draft_ctg(app: &TestApp, department: &str, caf: &Value, epci_org: &Value) -> ContractFixture {
    let epci_siren = epci_org["siren"].as_str().unwrap();
    let contract = app
        .create(
            "/v1/contracts",
            &json!({
                "kind": "ctg",
                "title": format!("CTG {}", epci_org["name"].as_str().unwrap()),
                "department": department,
                "start_date": "2024-01-01",
                "end_date": "2028-12-31",
                "fields": ["petite_enfance", "jeunesse", "parentalite", "acces_aux_droits"],
                "perimeter": {"epcis": [epci_siren]},
            }),
        )
        .await;
    let id = contract["id"].as_str().unwrap().to_owned();
    let caf_party = app
        .create(
            &format!("/v1/contracts/{id}/parties"),
            // A CAF signs with two names: its président and its directeur.
            &json!({"organisation_id": caf["id"], "roles": ["signatory", "payer"],
                    "signatory_name": "Marie Durand", "second_signatory_name": "Paul Martin"}),
        )
        .await;
    let epci_party = app
        .create(
            &format!("/v1/contracts/{id}/parties"),
            &json!({"organisation_id": epci_org["id"], "roles": ["signatory", "pilot"]}),
        )
        .await;
    ContractFixture {
        id,
        caf_party: caf_party["id"].as_str().unwrap().to_owned(),
        epci_party: epci_party["id"].as_str().unwrap().to_owned(),
        epci_organisation: epci_org["id"].as_str().unwrap().to_owned(),
    }
}

/// Records every signature and délibération, then submits and signs the contract.
pub async fn sign(app: &TestApp, contract: &ContractFixture) {
    let submit = app.transition(&contract.id, &admin_token(), &json!({"action": "submit"})).await;
    assert_eq!(submit.status, 200, "{}", submit.text);
    for party in [&contract.caf_party, &contract.epci_party] {
        let path = format!("/v1/contracts/{}/parties/{party}", contract.id);
        let etag = app.etag(&path).await;
        let body =
            json!({"signed_on": "2024-02-01", "deliberation_date": "2024-01-20", "deliberation_ref": "DEL-2024-007"});
        let answer = app.patch_json(&path, &admin_token(), &etag, &body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let signed = app.transition(&contract.id, &admin_token(), &json!({"action": "sign"})).await;
    assert_eq!(signed.status, 200, "{}", signed.text);
}

/// An EAJE of `places` places in `commune` run by the organisation `manager_id`: the facility a
/// `bonus_territoire_eaje` commitment to that organisation funds. Returns its id.
pub async fn eaje(app: &TestApp, manager_id: &str, commune: &str, places: i64) -> String {
    let body = json!({"type": "eaje", "name": format!("Multi-accueil de {places} places"), "manager_id": manager_id,
                      "commune": commune, "capacity_places": places});
    app.create("/v1/equipments", &body).await["id"].as_str().unwrap().to_owned()
}
