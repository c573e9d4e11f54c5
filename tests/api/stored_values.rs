//! Values are read into their types at the database boundary: a stored code, id or rule that does
//! not parse is a fault answered 500 (and logged), never turned into a default a client would
//! take for data.

use ctg_api::db;
use diesel::RunQueryDsl;

use crate::funding::{draft_commitment, signed_contract};
use crate::helpers::{TestApp, admin_token, spawn_app};

fn corrupt(app: &TestApp, statement: &str) {
    let mut conn = db::connect(app.database.url()).unwrap();
    assert_eq!(diesel::sql_query(statement).execute(&mut conn).unwrap(), 1, "{statement}");
}

#[tokio::test]
async fn a_stored_value_that_does_not_parse_is_a_500_not_a_default() {
    let app = spawn_app().await;
    let contract = signed_contract(&app).await;
    let contract_path = format!("/v1/contracts/{}", contract.id);
    let commitment = draft_commitment(&app, &contract).await;
    let commitment_path = format!("/v1/funding-commitments/{}", commitment["id"].as_str().unwrap());
    assert_eq!(app.get(&contract_path, &admin_token()).await.status, 200);
    assert_eq!(app.get(&commitment_path, &admin_token()).await.status, 200);

    // A field code no version of the service knows, in the list stored on the contract.
    corrupt(&app, &format!("UPDATE contracts SET fields = 'jeunesse,astrologie' WHERE id = '{}'", contract.id));
    app.get(&contract_path, &admin_token()).await.assert_problem(500, "INTERNAL");
    app.get("/v1/contracts?department=74", &admin_token()).await.assert_problem(500, "INTERNAL");

    // A schedule rule whose balance date does not exist.
    let commitment_id = commitment["id"].as_str().unwrap();
    corrupt(&app, &format!("UPDATE funding_commitments SET balance_due = '02-30' WHERE id = '{commitment_id}'"));
    app.get(&commitment_path, &admin_token()).await.assert_problem(500, "INTERNAL");

    // A party's role list with an unknown role: the contract's parties cannot be shown as they are.
    corrupt(
        &app,
        &format!("UPDATE contract_parties SET roles = 'signatory,sponsor' WHERE id = '{}'", contract.caf_party),
    );
    app.get(&format!("{contract_path}/parties"), &admin_token()).await.assert_problem(500, "INTERNAL");
}
