//! CEJ → CTG at signature: the preview of what signing a CTG does to the CEJs it replaces, and
//! the writes the signature makes. Both go through [`plan_for`], which loads the facts and hands
//! them to the pure `domain::cej_transfer::plan`, so the signature does exactly what the preview
//! showed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::funding::{CommitmentParts, commitment_view};
use super::problems::PreviewProblems;
use super::stored_id;
use crate::auth::{Role, Scope};
use crate::db::contracts::{self as contracts_repo, Perimeter, ScopedContract};
use crate::db::funding::{self as repo, CommitmentRow, StoredRule};
use crate::db::organisations::OrganisationRow;
use crate::db::{self, DbConnection, equipments, evidence, organisations, parties, territories};
use crate::domain::cej_transfer::{
    self as rules, CejFacts, CejTransfer, CommitmentFacts, CtgFacts, FacilityFacts, PartyFacts, PerimeterMembership,
    Plan, YearCents, YearMoney,
};
use crate::domain::contract::{ContractKind, PartyRole, RecordedStatus};
use crate::domain::funding::{LineStatus, Origin, ScheduleRule};
use crate::domain::organisation::OrganisationKind;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::requests::Read;
use crate::write::{self, ContractChange};

/// What signing a CTG will do to the CEJs it replaces.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CejTransferView {
    pub contract_id: Uuid,
    /// Each signed CEJ the CTG replaces, in the order of their ids.
    pub cejs: Vec<CejTransfer>,
    /// The bonus money the signature creates, per year, over every CEJ.
    pub totals: Vec<YearCents>,
    /// Every condition that would refuse the signature (`code`, `detail`), as the signature
    /// would list them; empty when the transfer can be made.
    pub blocking: Vec<FieldError>,
}

/// The parties of a contract as the transfer sees them: for a commune, its INSEE code and EPCI
/// from the territory reference.
pub(crate) fn party_facts(conn: &mut DbConnection, contract: &ScopedContract) -> ApiResult<Vec<PartyFacts>> {
    parties::list(conn, contract)?
        .into_iter()
        .map(|(party, organisation)| place_of(conn, organisation, party.roles))
        .collect()
}

/// An organisation holding `roles`, placed on the territory: for a commune, its INSEE code and
/// EPCI from the territory reference.
pub(crate) fn place_of(
    conn: &mut DbConnection,
    organisation: OrganisationRow,
    roles: Vec<PartyRole>,
) -> ApiResult<PartyFacts> {
    let (mut insee, mut epci_siren) = (organisation.insee_code.clone(), None);
    if organisation.kind == OrganisationKind::Commune {
        let commune = match (&insee, &organisation.siren) {
            (Some(code), _) => territories::find_commune(conn, code)?,
            (None, Some(siren)) => territories::find_commune_by_siren(conn, siren)?,
            (None, None) => None,
        };
        if let Some(commune) = commune {
            insee = Some(commune.insee);
            epci_siren = commune.epci_siren;
        }
    }
    Ok(PartyFacts {
        organisation_id: organisation.id,
        name: organisation.name,
        kind: organisation.kind,
        roles,
        siren: organisation.siren,
        insee,
        epci_siren,
    })
}

/// The collectivities `perimeter` counts, with the EPCI of the communes it names.
pub(crate) fn membership(conn: &mut DbConnection, perimeter: &Perimeter) -> ApiResult<PerimeterMembership> {
    let mut epcis_of_communes = BTreeSet::new();
    for insee in &perimeter.communes {
        epcis_of_communes.extend(territories::find_commune(conn, insee)?.and_then(|commune| commune.epci_siren));
    }
    Ok(PerimeterMembership {
        epcis: perimeter.epcis.iter().cloned().collect(),
        communes: perimeter.communes.iter().cloned().collect(),
        epcis_of_communes,
    })
}

/// The funding commitments of the CEJs, with their years, payments, facilities and payees.
fn commitment_facts(conn: &mut DbConnection, cej_ids: &[String]) -> ApiResult<HashMap<Uuid, Vec<CommitmentFacts>>> {
    let rows = repo::list(conn, cej_ids)?;
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut figures = repo::year_figures(conn, &ids)?;
    let paid = repo::paid_totals(conn, &ids)?;
    let evidence_years = evidence::kinds(conn, &ids)?;
    let equipment_ids: Vec<Uuid> = rows.iter().filter_map(|row| row.equipment_id).collect();
    let equipments = equipments::find_many(conn, &equipment_ids)?;
    let organisation_ids: Vec<Uuid> =
        rows.iter().map(|row| row.payee_id).chain(equipments.iter().map(|e| e.manager_id)).collect();
    let names: HashMap<Uuid, String> =
        organisations::find_many(conn, &organisation_ids)?.into_iter().map(|o| (o.id, o.name)).collect();
    let name_of = |id: &Uuid| {
        names.get(id).cloned().ok_or_else(|| ApiError::internal(format!("organisation {id} is referenced but missing")))
    };
    let facilities: HashMap<Uuid, FacilityFacts> = equipments
        .into_iter()
        .map(|e| {
            let manager_name = name_of(&e.manager_id)?;
            let facts = FacilityFacts {
                id: e.id,
                name: e.name,
                equipment_type: e.equipment_type,
                manager_id: e.manager_id,
                manager_name,
            };
            Ok((e.id, facts))
        })
        .collect::<ApiResult<_>>()?;
    let mut out: HashMap<Uuid, Vec<CommitmentFacts>> = HashMap::new();
    for row in rows {
        let years = figures
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|(year, f)| (year, YearMoney { amount_cents: f.amount_cents, actual_cents: f.actual_cents }))
            .collect();
        let paid_years = paid.by_year.keys().filter(|(id, _)| *id == row.id).map(|(_, year)| *year).collect();
        let evidence_years = evidence_years.keys().filter(|(id, _)| *id == row.id).map(|(_, year)| *year).collect();
        out.entry(row.contract_id).or_default().push(CommitmentFacts {
            id: row.id,
            programme: row.programme,
            status: row.status,
            payee_id: row.payee_id,
            payee_name: name_of(&row.payee_id)?,
            facility: row.equipment_id.and_then(|id| facilities.get(&id).cloned()),
            years,
            paid_years,
            evidence_years,
        });
    }
    Ok(out)
}

/// What signing `ctg` does to `cejs` (the signed CEJs it replaces, in the order of their ids),
/// with every blocking condition: the one computation the preview shows and the signature makes.
pub(crate) fn plan_for(conn: &mut DbConnection, ctg: &ScopedContract, cejs: &[ScopedContract]) -> ApiResult<Plan> {
    let row = ctg.row();
    let perimeter =
        contracts_repo::perimeters(conn, std::slice::from_ref(&row.id))?.remove(&row.id).unwrap_or_default();
    let ctg_facts = CtgFacts {
        start_date: row.start_date,
        end_date: row.end_date,
        parties: party_facts(conn, ctg)?,
        perimeter_epcis: perimeter.epcis.into_iter().collect(),
        perimeter_communes: perimeter.communes.into_iter().collect(),
        carried_facilities: repo::list(conn, std::slice::from_ref(&row.id))?
            .into_iter()
            .filter(|commitment| commitment.origin == Origin::ExCej)
            .filter_map(|commitment| commitment.equipment_id)
            .collect(),
    };
    let cej_ids: Vec<String> = cejs.iter().map(|cej| cej.id().to_owned()).collect();
    let mut commitments = commitment_facts(conn, &cej_ids)?;
    let mut cej_facts = Vec::with_capacity(cejs.len());
    for cej in cejs {
        let id = stored_id(cej.id())?;
        cej_facts.push(CejFacts {
            id,
            reference: cej.row().reference.clone(),
            end_date: cej.row().end_date,
            ended_on: cej.row().ended_on,
            parties: party_facts(conn, cej)?,
            commitments: commitments.remove(&id).unwrap_or_default(),
        });
    }
    Ok(rules::plan(&ctg_facts, &cej_facts))
}

/// The CEJs a signature of `ctg` transfers: its predecessors still signed, in the order of their
/// ids (the order the signature locks them in).
fn signed_predecessors(conn: &mut DbConnection, ctg: &ScopedContract) -> ApiResult<Vec<ScopedContract>> {
    let id = ctg.id().to_owned();
    let mut ids = contracts_repo::predecessors(conn, std::slice::from_ref(&id))?.remove(&id).unwrap_or_default();
    ids.sort();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // The CEJs of a CTG lie in its département: whoever reaches the CTG sees its transfer.
        // A CTG renewed by this one is superseded at its signature but carries no CEJ money.
        if let Some(cej) = contracts_repo::find_scoped(conn, &Scope::Everything, &id)?
            && cej.row().status == RecordedStatus::Signed
            && cej.row().kind == ContractKind::Cej
        {
            out.push(cej);
        }
    }
    Ok(out)
}

/// Preview what signing this CTG does to the CEJs it replaces.
///
/// Preview what signing this CTG will do to the CEJs it replaces: for each signed CEJ, its
/// reference year (its last funded year), its `psej` commitments per facility and manager, the
/// yearly amount carried over (the actual entitlement of that year when recorded, else the
/// committed amount), the `ex_cej` bonus territoire commitments the signature will create (in
/// draft, one per facility and manager, for each year of the CTG after the CEJ's end), the years
/// the CEJ commitments lose, and every condition that would refuse the signature. Only a CTG not
/// yet signed has a preview: a signed one (the transfer is done) or a CEJ answers 409. It shows the
/// money of CEJs a collectivity may not be party to: collectivities get 403. Who may call it:
/// admins, and CAF agents and integrations of the contract's département; a collectivity party to
/// the contract gets 403, and another contract answers 404.
#[utoipa::path(tag = "contracts", params(("id" = Uuid, Path)), responses((status = 200, description = "What the signature would do, and what blocks it", body = CejTransferView), PreviewProblems), security(("bearer" = [])))]
#[get("/contracts/{id}/cej-transfer")]
pub async fn get_cej_transfer((caller, id, _no_parameters, pool): Read<Uuid>) -> ApiResult<HttpResponse> {
    let contract_id = id.into_inner();
    let view = db::run(&pool, move |conn| {
        let ctg = write::scoped(conn, &caller, contract_id)?;
        if matches!(caller.role, Role::Collectivity { .. }) {
            // The preview shows the money of CEJs the collectivity may not be party to.
            return Err(ApiError::Forbidden(
                "the transfer preview is read by the CAF; a collectivity reads the CTG's commitments once it is signed"
                    .into(),
            ));
        }
        let row = ctg.row();
        if row.kind == ContractKind::Cej {
            return Err(ApiError::Conflict(
                "this is a CEJ: the transfer is previewed on the CTG that replaces it".into(),
            ));
        }
        if !matches!(row.status, RecordedStatus::Draft | RecordedStatus::InReview) {
            return Err(ApiError::Conflict(format!(
                "the CTG is {}: only a CTG not yet signed has a transfer to preview",
                row.status
            )));
        }
        let cejs = signed_predecessors(conn, &ctg)?;
        let plan = plan_for(conn, &ctg, &cejs)?;
        let totals = plan.totals();
        let blocking = plan.blocking.into_iter().map(|u| FieldError::condition(u.code, u.detail)).collect();
        Ok(CejTransferView { contract_id, cejs: plan.cejs, totals, blocking })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Creates the `ex_cej` bonus territoire commitments of `plan` on the CTG of `change`, in draft,
/// with their years and the CEJ commitments they continue, each in the history and the feed.
pub(crate) fn create_bonuses(change: &mut ContractChange<'_>, plan: &Plan) -> ApiResult<()> {
    let contract_id = stored_id(change.contract.id())?;
    let signed_as = change.contract.row().reference.clone();
    let new_parts = CommitmentParts::of_new(change.conn)?;
    for cej in &plan.cejs {
        let reason = format!("carried over from {} at the signature of {signed_as}", cej.reference);
        for bonus in cej.facilities.iter().filter_map(|facility| facility.bonus.as_ref()) {
            let row = CommitmentRow {
                id: Uuid::new_v4(),
                contract_id,
                payee_id: bonus.payee_id,
                equipment_id: Some(bonus.equipment_id),
                programme: bonus.programme,
                basis: bonus.basis,
                origin: bonus.origin,
                // One facility at the carried yearly amount.
                unit_amount_cents: bonus.years.first().map(|year| year.amount_cents),
                units: Some(1),
                status: bonus.status,
                decision_date: None,
                rule: StoredRule::from(&ScheduleRule::default()),
                version: 1,
                created_at: change.at,
                updated_at: change.at,
            };
            let years: BTreeMap<i64, i64> = bonus.years.iter().map(|y| (y.year, y.amount_cents)).collect();
            repo::insert(change.conn, &change.contract, &row, &years)?;
            repo::link_continuations(change.conn, row.id, &bonus.continues_ids)?;
            let parts =
                CommitmentParts { continues_ids: bonus.continues_ids.clone(), ..new_parts.with_amounts(&years) };
            change.created_with_reason(&commitment_view(&row, &parts)?, Some(&reason))?;
        }
    }
    Ok(())
}

/// Closes the CEJ commitments of `transfer` for the years after the CEJ's end, on the CEJ of
/// `change`: those years go, their unpaid schedule lines are cancelled (the plan refused a year
/// with payments), and the commitment keeps its status, so the balance of its last year can
/// still be paid. Each change goes in the CEJ's history and the feed.
pub(crate) fn close_years(change: &mut ContractChange<'_>, transfer: &CejTransfer, reason: &str) -> ApiResult<()> {
    for closed in &transfer.closed_years {
        let current = repo::find_in(change.conn, &change.contract, closed.commitment_id)?.ok_or_else(|| {
            ApiError::internal(format!("commitment {} vanished under its CEJ's lock", closed.commitment_id))
        })?;
        let parts = CommitmentParts::of(change.conn, current.id)?;
        let before = commitment_view(&current, &parts)?;
        let kept: BTreeMap<i64, i64> =
            parts.amounts().into_iter().filter(|(year, _)| !closed.years.contains(year)).collect();
        for line in repo::lines(change.conn, current.id)? {
            if closed.years.contains(&line.year) && !matches!(line.status, LineStatus::Cancelled | LineStatus::Paid) {
                repo::set_line_status(change.conn, line.id, LineStatus::Cancelled, change.at)?;
            }
        }
        let row = change.next(current);
        repo::update(change.conn, &change.contract, &row, Some(&kept))?;
        change.updated(&before, &commitment_view(&row, &parts.with_amounts(&kept))?, Some(reason))?;
    }
    Ok(())
}
