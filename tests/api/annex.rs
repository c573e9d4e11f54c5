//! The financial annex and the split of the money by origin: every figure to the cent, in JSON
//! and in the CSV a French spreadsheet opens.

use serde_json::{Value, json};

use crate::fixtures::ContractFixture;
use crate::funding::signed_contract;
use crate::helpers::{TestApp, admin_token, spawn_app};

/// A crèche of 40 places run by the contract's EPCI.
async fn creche(app: &TestApp, contract: &ContractFixture) -> Value {
    app.create(
        "/v1/equipments",
        &json!({"type": "eaje", "name": "Crèche Les Lutins", "manager_id": contract.epci_organisation,
                "commune": "74042", "capacity_places": 40}),
    )
    .await
}

/// Commits the commitment `id` (its decision date is set) and generates its default schedule.
async fn commit_and_schedule(app: &TestApp, id: &str) {
    app.commit_commitment(id).await;
    let answer = app.generate_schedule(id, &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

/// The contract of [`signed_contract`] with a committed ex-CEJ bonus of 10,000.01 € a year in
/// 2025 and 2026 for the crèche, its first 2025 advance (3,500.00 €) paid, and a draft
/// coordination grant of 5,000.00 € for 2026: the contract, the crèche and the manager's name.
async fn funded_contract(app: &TestApp) -> (ContractFixture, Value, String) {
    let contract = signed_contract(app).await;
    let creche = creche(app, &contract).await;
    let path = format!("/v1/contracts/{}/funding-commitments", contract.id);
    let bonus = app
        .create(
            &path,
            &json!({"payee_id": contract.epci_organisation, "equipment_id": creche["id"],
                    "programme": "bonus_territoire_eaje", "basis": "per_equipment", "origin": "ex_cej",
                    "decision_date": "2024-12-01",
                    "years": [{"year": 2025, "amount_cents": 1_000_001}, {"year": 2026, "amount_cents": 1_000_001}]}),
        )
        .await;
    let bonus_id = bonus["id"].as_str().unwrap();
    commit_and_schedule(app, bonus_id).await;
    let schedule = app.get(&format!("/v1/funding-commitments/{bonus_id}/schedule"), &admin_token()).await.body;
    let first_advance = schedule["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["year"] == 2025 && line["kind"] == "advance")
        .unwrap()
        .clone();
    assert_eq!(first_advance["amount_cents"], 350_000, "70% of 10,000.01 € floored, in two halves");
    let paid = app
        .send(
            app.client
                .post(app.url(&format!("/v1/funding-commitments/{bonus_id}/payments")))
                .bearer_auth(admin_token())
                .header("Idempotency-Key", "annex-advance-1")
                .json(&json!({"schedule_line_id": first_advance["id"], "paid_on": "2025-03-03",
                              "amount_cents": 350_000, "reference": "MANDAT-2025-0001"})),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.text);
    app.create(
        &path,
        &json!({"payee_id": contract.epci_organisation, "programme": "coordination", "basis": "lump_sum",
                "origin": "new", "years": [{"year": 2026, "amount_cents": 500_000}]}),
    )
    .await;
    let manager = app.get(&format!("/v1/organisations/{}", contract.epci_organisation), &admin_token()).await;
    (contract, creche, manager.body["name"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_annex_lists_each_facility_programme_and_origin_with_totals_to_the_cent() {
    let app = spawn_app().await;
    let (contract, creche, manager) = funded_contract(&app).await;
    let answer = app.get(&format!("/v1/contracts/{}/annex", contract.id), &admin_token()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let annex = answer.body;
    let amounts = |committed: i64, draft: i64, paid: i64| {
        json!({"committed_cents": committed, "draft_cents": draft, "forecast_cents": null,
               "actual_cents": null, "paid_cents": paid})
    };
    let with_year = |year: i64, figures: Value| {
        let mut figures = figures;
        figures["year"] = json!(year);
        figures
    };
    assert_eq!(
        annex["reference"],
        app.get(&format!("/v1/contracts/{}", contract.id), &admin_token()).await.body["reference"]
    );
    assert_eq!(
        annex["lines"],
        json!([
            {"equipment_id": null, "equipment_name": null, "equipment_type": null,
             "manager_id": contract.epci_organisation, "manager_name": manager,
             "programme": "coordination", "money_origin": "other", "places": null,
             "years": [with_year(2026, amounts(0, 500_000, 0))], "total": amounts(0, 500_000, 0)},
            {"equipment_id": creche["id"], "equipment_name": "Crèche Les Lutins", "equipment_type": "eaje",
             "manager_id": contract.epci_organisation, "manager_name": manager,
             "programme": "bonus_territoire_eaje", "money_origin": "ex_cej", "places": 40,
             "years": [with_year(2025, amounts(1_000_001, 0, 350_000)), with_year(2026, amounts(1_000_001, 0, 0))],
             "total": amounts(2_000_002, 0, 350_000)},
        ])
    );
    let total = |year: i64, origin: &str, figures: Value| {
        let mut figures = with_year(year, figures);
        figures["money_origin"] = json!(origin);
        figures
    };
    assert_eq!(
        annex["totals"],
        json!([
            total(2025, "ex_cej", amounts(1_000_001, 0, 350_000)),
            total(2026, "ex_cej", amounts(1_000_001, 0, 0)),
            total(2026, "other", amounts(0, 500_000, 0)),
        ])
    );
    assert_eq!(annex["total"], amounts(2_000_002, 500_000, 350_000));

    let csv = app
        .send(
            app.client
                .get(app.url(&format!("/v1/contracts/{}/annex", contract.id)))
                .bearer_auth(admin_token())
                .header("Accept", "text/csv"),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().starts_with("attachment; filename=\"annex-CTG-074-"));
    let lines: Vec<&str> = csv.text.trim_end().split("\r\n").collect();
    let creche_id = creche["id"].as_str().unwrap();
    let manager_id = &contract.epci_organisation;
    assert_eq!(
        lines,
        vec![
            "\u{feff}row;equipment_name;equipment_type;equipment_id;manager_name;manager_id;programme;money_origin;places;year;committed_cents;draft_cents;forecast_cents;actual_cents;paid_cents;committed_eur;draft_eur;forecast_eur;actual_eur;paid_eur".to_owned(),
            format!("line;;;;{manager};{manager_id};coordination;other;;2026;0;500000;;;0;0,00;5000,00;;;0,00"),
            format!("line;Crèche Les Lutins;eaje;{creche_id};{manager};{manager_id};bonus_territoire_eaje;ex_cej;40;2025;1000001;0;;;350000;10000,01;0,00;;;3500,00"),
            format!("line;Crèche Les Lutins;eaje;{creche_id};{manager};{manager_id};bonus_territoire_eaje;ex_cej;40;2026;1000001;0;;;0;10000,01;0,00;;;0,00"),
            "total;;;;;;;ex_cej;;2025;1000001;0;;;350000;10000,01;0,00;;;3500,00".to_owned(),
            "total;;;;;;;ex_cej;;2026;1000001;0;;;0;10000,01;0,00;;;0,00".to_owned(),
            "total;;;;;;;other;;2026;0;500000;;;0;0,00;5000,00;;;0,00".to_owned(),
        ]
    );
}

#[tokio::test]
async fn the_summaries_split_the_money_by_origin_and_count_places() {
    let app = spawn_app().await;
    let (contract, creche, _manager) = funded_contract(&app).await;
    let summary = app.get(&format!("/v1/contracts/{}/funding-summary", contract.id), &admin_token()).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    let origin = |year: i64, committed: i64, paid: i64| {
        json!({"year": year, "money_origin": "ex_cej", "committed_cents": committed, "scheduled_cents": 1_000_001,
               "paid_cents": paid, "remaining_cents": committed - paid, "places": 40})
    };
    assert_eq!(summary.body["by_origin"], json!([origin(2025, 1_000_001, 350_000), origin(2026, 1_000_001, 0)]));
    assert_eq!(summary.body["draft_cents"], 500_000, "the draft coordination grant is not counted");

    // A second ex-CEJ grant for the same crèche adds its money, not its 40 places again.
    let inclusion = app
        .create(
            &format!("/v1/contracts/{}/funding-commitments", contract.id),
            &json!({"payee_id": contract.epci_organisation, "equipment_id": creche["id"],
                    "programme": "bonus_inclusion_handicap", "basis": "per_equipment", "origin": "ex_cej",
                    "decision_date": "2024-12-01", "years": [{"year": 2025, "amount_cents": 100_000}]}),
        )
        .await;
    commit_and_schedule(&app, inclusion["id"].as_str().unwrap()).await;
    let summary = app.get(&format!("/v1/contracts/{}/funding-summary", contract.id), &admin_token()).await;
    assert_eq!(
        summary.body["by_origin"][0],
        json!({"year": 2025, "money_origin": "ex_cej", "committed_cents": 1_100_001, "scheduled_cents": 1_100_001,
               "paid_cents": 350_000, "remaining_cents": 750_001, "places": 40})
    );

    let department = app.get("/v1/departments/74/summary", &admin_token()).await;
    assert_eq!(department.status, 200, "{}", department.text);
    assert_eq!(department.body["funding_by_origin"], summary.body["by_origin"]);
    let csv = app
        .send(
            app.client
                .get(app.url("/v1/departments/74/summary"))
                .bearer_auth(admin_token())
                .header("Accept", "text/csv"),
        )
        .await;
    assert!(
        csv.text.contains(
            "# funding_by_origin\r\nyear;money_origin;committed_cents;paid_cents;remaining_cents;places\r\n2025;ex_cej;1100001;350000;750001;40\r\n2026;ex_cej;1000001;0;1000001;40\r\n"
        ),
        "{}",
        csv.text
    );
}
