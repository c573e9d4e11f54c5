//! What an amendment is and what it does to its contract: judged when it is drafted and again
//! when it applies, since the contract may have moved in between, and applied in one go once
//! every signatory it concerns has signed. The routes are in `amendments.rs`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::cej_transfer::{membership, place_of};
use super::contracts::{ContractDraft, ContractView, PerimeterInput, PerimeterView, check_draft, draft_view, view_one};
use super::funding::{YearAmount, set_years};
use super::parties::{PartyView, party_view};
use crate::db::amendments::{self as repo, AmendmentRow};
use crate::db::contracts::{self as contracts_repo, ContractRow, Perimeter, ScopedContract};
use crate::db::documents::{self, DocumentRow};
use crate::db::organisations::{self, OrganisationRow};
use crate::db::parties::{self, PartyRow};
use crate::db::{self, DbConnection, action_plan, funding, project};
use crate::domain::amendments::{
    self as rules, AmendedFacts, AmendmentStatus, AnnexFacts, Joining, Member, PartyChangeFacts, Signature,
    check_amendment, check_annex, check_party_changes,
};
use crate::domain::contract::{Field, PartyRole};
use crate::domain::funding::CommitmentStatus;
use crate::domain::organisation::OrganisationKind;
use crate::domain::parties::check_caf_department;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::write::{self, ContractChange};

/// An organisation an amendment makes a party, with its roles. A commune or EPCI joining the
/// perimeter joins as a signatory; it gives its délibération when it signs the amendment.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoiningParty {
    pub organisation_id: Uuid,
    #[validate(length(min = 1, message = "name at least one role"))]
    #[schema(min_items = 1)]
    pub roles: Vec<PartyRole>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub signatory_title: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_name: Option<String>,
    #[validate(length(max = 200, message = "must have at most 200 characters"))]
    #[schema(max_length = 200)]
    pub second_signatory_title: Option<String>,
}

/// What an amendment changes; at least one of these.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentChanges {
    pub end_date: Option<NaiveDate>,
    #[validate(length(max = 20, message = "at most 20 fields"))]
    #[schema(max_items = 20)]
    pub fields: Option<Vec<Field>>,
    #[validate(nested)]
    pub perimeter: Option<PerimeterInput>,
    #[validate(length(min = 1, max = 300, message = "must have 1 to 300 characters"))]
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    /// Organisations that become parties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested, length(max = 100, message = "at most 100 parties join at once"))]
    #[schema(max_items = 100)]
    pub add_parties: Option<Vec<JoiningParty>>,
    /// Organisations (their ids) that stop being parties, after an EPCI merger for example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 100, message = "at most 100 parties leave at once"))]
    #[schema(max_items = 100)]
    pub remove_parties: Option<Vec<Uuid>>,
    /// The financial annex as amended: the new yearly amounts of the commitments it names,
    /// applied as corrections of them, with the amendment as their reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(nested, length(max = 200, message = "at most 200 commitments change at once"))]
    #[schema(max_items = 200)]
    pub annex: Option<Vec<AnnexChange>>,
}

/// One commitment of the financial annex, with the years an amendment sets for it (each year it
/// keeps, with its amount: a year left out goes).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnexChange {
    pub commitment_id: Uuid,
    #[validate(nested, length(min = 1, max = 20, message = "give 1 to 20 years"))]
    #[schema(min_items = 1, max_items = 20)]
    pub years: Vec<YearAmount>,
}

/// A commitment's yearly amounts as an amendment records them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnnexTerms {
    pub commitment_id: Uuid,
    pub years: Vec<YearAmount>,
}

impl AmendmentChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.end_date.is_none()
            && self.fields.is_none()
            && self.perimeter.is_none()
            && self.title.is_none()
            && self.add_parties.as_ref().is_none_or(Vec::is_empty)
            && self.remove_parties.as_ref().is_none_or(Vec::is_empty)
            && self.annex.as_ref().is_none_or(Vec::is_empty)
    }
}

/// A party as an amendment records it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendedParty {
    pub organisation_id: Uuid,
    pub name: String,
    pub roles: Vec<PartyRole>,
}

impl AmendedParty {
    /// A party of the contract, with its organisation, as an amendment records it.
    pub(crate) fn of((party, organisation): (PartyRow, OrganisationRow)) -> Self {
        Self { organisation_id: organisation.id, name: organisation.name, roles: party.roles }
    }
}

/// The amended part of a contract.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendedTerms {
    pub title: String,
    pub end_date: NaiveDate,
    pub fields: Vec<Field>,
    pub perimeter: PerimeterView,
    /// Its parties (empty for amendments recorded before parties could change by amendment).
    #[serde(default)]
    pub parties: Vec<AmendedParty>,
    /// The commitments of the financial annex the amendment changes, with their yearly amounts.
    #[serde(default)]
    pub annex: Vec<AnnexTerms>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendmentView {
    pub id: Uuid,
    pub contract_id: Uuid,
    pub status: AmendmentStatus,
    /// Given when it is signed, in the order of signature.
    pub number: Option<i64>,
    /// The date of its last signature.
    pub signed_on: Option<NaiveDate>,
    pub effective_on: NaiveDate,
    pub rationale: String,
    pub changes: AmendmentChanges,
    /// The signatures gathered, in the order they came.
    pub signatures: Vec<Signature>,
    /// The organisations whose signature a draft still waits for.
    pub awaiting_signatures: Vec<Uuid>,
    /// The amended terms, once it is signed.
    pub before: Option<AmendedTerms>,
    pub after: Option<AmendedTerms>,
    pub created_at: String,
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> ApiResult<T> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

write::resource!(
    AmendmentView, "amendment", |view| id: view.id,
    location: format!("/v1/contracts/{}/amendments/{}", view.contract_id, view.id),
);

pub(crate) fn amendment_view(row: AmendmentRow) -> ApiResult<AmendmentView> {
    Ok(AmendmentView {
        id: row.id,
        contract_id: row.contract_id,
        status: AmendmentStatus::Signed,
        number: Some(row.number),
        signed_on: Some(row.signed_on),
        effective_on: row.effective_on,
        rationale: row.rationale,
        changes: parse(&row.changes)?,
        signatures: row.signatures,
        awaiting_signatures: Vec::new(),
        before: Some(parse(&row.before)?),
        after: Some(parse(&row.after)?),
        created_at: db::rfc3339(row.created_at),
    })
}

/// An amendment judged against the contract as it stands: the terms it leads to, and the
/// organisations it adds and the parties it removes, each found.
pub(crate) struct Judged {
    pub before: ContractView,
    /// The parties now.
    pub parties: Vec<AmendedParty>,
    pub draft: ContractDraft,
    pub added: Vec<(JoiningParty, OrganisationRow)>,
    pub removed: Vec<(PartyRow, OrganisationRow)>,
}

/// The organisations that sign the contract of `parties` once `changes` apply: those who sign
/// the amendment.
pub(crate) fn signatory_ids(parties: &[AmendedParty], changes: &AmendmentChanges) -> Vec<Uuid> {
    let removed = changes.remove_parties.as_deref().unwrap_or_default();
    let staying = parties
        .iter()
        .filter(|party| PartyRole::any_signs(&party.roles) && !removed.contains(&party.organisation_id))
        .map(|party| party.organisation_id);
    let joining = changes.add_parties.iter().flatten().filter(|joining| PartyRole::any_signs(&joining.roles));
    staying.chain(joining.map(|joining| joining.organisation_id)).collect()
}

/// The contract's terms as an amendment records them, with its parties and the commitments of
/// the annex it changes.
fn terms(view: &ContractView, parties: Vec<AmendedParty>, annex: Vec<AnnexTerms>) -> AmendedTerms {
    AmendedTerms {
        title: view.title.clone(),
        end_date: view.end_date,
        fields: view.fields.clone(),
        perimeter: view.perimeter.clone(),
        parties,
        annex,
    }
}

fn annex_terms(commitment_id: Uuid, years: &BTreeMap<i64, i64>) -> ApiResult<AnnexTerms> {
    let years = years
        .iter()
        .map(|(&year, &amount)| {
            Ok(YearAmount { year: i32::try_from(year).map_err(ApiError::internal)?, amount_cents: Some(amount) })
        })
        .collect::<ApiResult<_>>()?;
    Ok(AnnexTerms { commitment_id, years })
}

/// Judges `changes`, taking effect on `effective_on`, against the contract as it stands: every
/// broken rule in one 422, each at its place in the amendment body.
pub(crate) fn judge(
    change: &mut ContractChange<'_>,
    changes: &AmendmentChanges,
    effective_on: NaiveDate,
) -> ApiResult<Judged> {
    let current = change.contract.row().clone();
    let before = view_one(change.conn, current.clone())?;
    let draft = amended_draft(&before, changes);
    let mut errors = match check_draft(change.conn, &change.caller.scope(), &draft, Some(&current.id)) {
        Ok(()) => Vec::new(),
        Err(ApiError::ValidationFailed(errors)) => under("/changes", errors),
        Err(other) => return Err(other),
    };
    errors.extend(check_amendment(&AmendedFacts {
        kind: draft.kind,
        new_fields: changes.fields.is_some().then_some(&draft.fields),
        new_perimeter_size: changes.perimeter.is_some().then(|| draft.perimeter.len()),
        start_date: current.start_date,
        end_date: draft.end_date,
        effective_on,
    }));
    let conn = &mut *change.conn;
    let contract = &change.contract;
    let placed = membership(conn, &draft.perimeter)?;
    let mut members = Vec::new();
    let mut parties_now = Vec::new();
    for (party, organisation) in parties::list(conn, contract)? {
        let place = place_of(conn, organisation.clone(), party.roles.clone())?;
        members.push(member(&(placed.holds(&place), place), &party.roles));
        parties_now.push((party, organisation));
    }
    let mut added = Vec::new();
    let mut added_members = Vec::new();
    for (index, joining) in changes.add_parties.iter().flatten().enumerate() {
        let Some(organisation) = organisations::find(conn, joining.organisation_id)? else {
            added_members.push(None);
            continue;
        };
        if let Err(refused) =
            check_caf_department(organisation.kind, organisation.department.as_deref(), &current.department)
        {
            errors.extend(under(&format!("/changes/add_parties/{index}"), refused));
        }
        let roles = PartyRole::set_of(&joining.roles);
        let place = place_of(conn, organisation.clone(), roles.clone())?;
        added_members.push(Some(member(&(placed.holds(&place), place), &roles)));
        added.push((joining.clone(), organisation));
    }
    let removed_ids: Vec<Uuid> = changes.remove_parties.clone().unwrap_or_default();
    let mut removed = Vec::new();
    let mut kept_by = Vec::new();
    for id in &removed_ids {
        let Some((party, organisation)) = parties_now.iter().find(|(_, organisation)| organisation.id == *id) else {
            kept_by.push(None);
            continue;
        };
        kept_by.push(why_it_stays(conn, contract, party)?);
        removed.push((party.clone(), organisation.clone()));
    }
    let mut annex = Vec::new();
    for entry in changes.annex.iter().flatten() {
        let found = funding::find_in(conn, contract, entry.commitment_id)?;
        annex.push(AnnexFacts {
            commitment_id: entry.commitment_id,
            closed: found.map(|commitment| commitment.status == CommitmentStatus::Closed),
            years: entry.years.iter().map(|year| year.year).collect(),
        });
    }
    errors.extend(check_annex(&annex, draft.start_date.year()..=draft.end_date.year()));
    let joining = changes.perimeter.as_ref().map_or_else(Vec::new, |_| joining(&before, &draft.perimeter));
    errors.extend(check_party_changes(&PartyChangeFacts {
        contract_kind: draft.kind,
        parties: &members,
        added: &added_members,
        removed: &removed_ids,
        kept_by: &kept_by,
        joining: &joining,
    }));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let parties = parties_now.into_iter().map(AmendedParty::of).collect();
    Ok(Judged { before, parties, draft, added, removed })
}

/// A party or joining organisation as the party rules see it, from where it lies.
fn member((of_perimeter, place): &(bool, crate::domain::cej_transfer::PartyFacts), roles: &[PartyRole]) -> Member {
    let perimeter_code = match place.kind {
        OrganisationKind::Commune => place.insee.clone(),
        OrganisationKind::Epci => place.siren.clone(),
        _ => None,
    };
    Member {
        organisation_id: place.organisation_id,
        kind: place.kind,
        signs: PartyRole::any_signs(roles),
        of_perimeter: *of_perimeter,
        perimeter_code,
    }
}

/// The communes and EPCI the amended perimeter names that the contract's does not, each at its
/// place in the body.
fn joining(before: &ContractView, after: &Perimeter) -> Vec<Joining> {
    let named_epcis: BTreeSet<&String> = before.perimeter.epcis.iter().collect();
    let named_communes: BTreeSet<&String> = before.perimeter.communes.iter().collect();
    let epcis =
        after.epcis.iter().enumerate().filter(|(_, siren)| !named_epcis.contains(siren)).map(|(index, siren)| {
            Joining {
                pointer: format!("/changes/perimeter/epcis/{index}"),
                kind: OrganisationKind::Epci,
                code: siren.clone(),
            }
        });
    let communes =
        after.communes.iter().enumerate().filter(|(_, insee)| !named_communes.contains(insee)).map(|(index, insee)| {
            Joining {
                pointer: format!("/changes/perimeter/communes/{index}"),
                kind: OrganisationKind::Commune,
                code: insee.clone(),
            }
        });
    epcis.chain(communes).collect()
}

/// What keeps a party in the contract however it is amended: the money paid to it, its own
/// commitments, the actions it still pilots. Committees and the diagnostic that named it keep
/// naming it: they are a record of what happened.
fn why_it_stays(conn: &mut DbConnection, contract: &ScopedContract, party: &PartyRow) -> ApiResult<Option<String>> {
    let contract_ids = std::slice::from_ref(&contract.row().id);
    if funding::list(conn, contract_ids)?.iter().any(|commitment| commitment.payee_id == party.organisation_id) {
        return Ok(Some("it receives funding under the contract: pay another party first".into()));
    }
    let commitments = project::commitments_of_party(conn, contract, party.id)?;
    if commitments > 0 {
        return Ok(Some(format!("it has {commitments} commitment(s) under /party-commitments: remove them first")));
    }
    let piloted = action_plan::running_actions_piloted_by(conn, contract, party.organisation_id)?;
    if piloted > 0 {
        return Ok(Some(format!("it pilots {piloted} action(s) still under way: hand them over first")));
    }
    Ok(None)
}

/// Applies a judged amendment, signed by `signatures` on `signed_on`, as amendment `id`: the
/// parties join and leave, the contract takes its new terms, and the amendment is numbered and
/// recorded with the terms before and after. One history entry per party and one for the
/// contract; the contract's version moves once.
pub(crate) fn apply(
    change: &mut ContractChange<'_>,
    id: Uuid,
    body: Applied<'_>,
    judged: Judged,
) -> ApiResult<AmendmentView> {
    let Judged { before, parties: before_parties, draft, added, removed } = judged;
    let contract_id = before.id;
    let row = change.next(ContractRow {
        title: draft.title.clone(),
        end_date: draft.end_date,
        fields: draft.fields.iter().copied().collect(),
        ..change.contract.row().clone()
    });
    let predecessor_ids: Vec<String> = before.predecessor_ids.iter().map(Uuid::to_string).collect();
    let after = draft_view(change.conn, row.clone(), &draft.perimeter, &predecessor_ids)?;
    let perimeter = body.changes.perimeter.is_some().then_some(&draft.perimeter);
    contracts_repo::write(change.conn, &mut change.contract, row, perimeter, None)?;
    change.contract_written();

    let joined = join(change, contract_id, added, body.signatures)?;
    let removed_ids: Vec<Uuid> = removed.iter().map(|(_, organisation)| organisation.id).collect();
    // The financial annex, as corrections of its commitments: after the new period, which their
    // years must fall in, and after the newcomers joined, since one of them may be paid.
    let number = repo::next_number(change.conn, &change.contract)?;
    let (annex_before, annex_after) =
        correct_annex(change, body.changes, &format!("amendment {number}: {}", body.rationale))?;
    let after_parties: Vec<AmendedParty> = before_parties
        .iter()
        .filter(|party| !removed_ids.contains(&party.organisation_id))
        .cloned()
        .chain(joined.iter().map(|party| AmendedParty {
            organisation_id: party.organisation_id,
            name: party.organisation.name.clone(),
            roles: party.roles.clone(),
        }))
        .collect();
    let amendment = AmendmentRow {
        id,
        contract_id,
        number,
        signed_on: body.signed_on,
        effective_on: body.effective_on,
        rationale: body.rationale.to_owned(),
        changes: serde_json::to_string(body.changes).map_err(ApiError::internal)?,
        before: serde_json::to_string(&terms(&before, before_parties, annex_before)).map_err(ApiError::internal)?,
        after: serde_json::to_string(&terms(&after, after_parties, annex_after)).map_err(ApiError::internal)?,
        created_at: change.at,
        signatures: body.signatures.to_vec(),
    };
    repo::insert(change.conn, &change.contract, &amendment)?;
    repo::delete_draft(change.conn, &change.contract, id)?;

    let left = leave(change, removed, &amendment)?;
    for party in &joined {
        change.created(party)?;
    }
    for party in &left {
        change.deleted(party)?;
    }
    let view = amendment_view(amendment)?;
    let reason = format!("amendment {}: {}", view.number.unwrap_or_default(), view.rationale);
    change.amended(&before, &after, &view, &reason)?;
    Ok(view)
}

/// Adds the organisations that join, each named and dated as it signed the amendment.
fn join(
    change: &mut ContractChange<'_>,
    contract_id: Uuid,
    added: Vec<(JoiningParty, OrganisationRow)>,
    signatures: &[Signature],
) -> ApiResult<Vec<PartyView>> {
    let mut joined = Vec::new();
    for (joining, organisation) in added {
        let signature = signatures.iter().find(|signature| signature.organisation_id == organisation.id);
        let signed = |name: fn(&Signature) -> &Option<String>, given: &Option<String>| {
            signature.and_then(|signature| name(signature).clone()).or_else(|| given.clone())
        };
        let party = PartyRow {
            id: Uuid::new_v4(),
            contract_id,
            organisation_id: organisation.id,
            roles: PartyRole::set_of(&joining.roles),
            // Named as they signed, else as the amendment introduced them.
            signatory_name: signed(|s| &s.signatory_name, &joining.signatory_name),
            signatory_title: signed(|s| &s.signatory_title, &joining.signatory_title),
            second_signatory_name: signed(|s| &s.second_signatory_name, &joining.second_signatory_name),
            second_signatory_title: signed(|s| &s.second_signatory_title, &joining.second_signatory_title),
            deliberation_date: signature.and_then(|signature| signature.deliberation_date),
            deliberation_ref: signature.and_then(|signature| signature.deliberation_ref.clone()),
            signed_on: signature.map(|signature| signature.signed_on),
            version: 1,
            created_at: change.at,
            updated_at: change.at,
        };
        parties::insert(change.conn, &change.contract, &party)?;
        joined.push(party_view(party, organisation));
    }
    Ok(joined)
}

/// Sets the years of each commitment the annex names, as a correction with `reason`; returns
/// their amounts before and after.
fn correct_annex(
    change: &mut ContractChange<'_>,
    changes: &AmendmentChanges,
    reason: &str,
) -> ApiResult<(Vec<AnnexTerms>, Vec<AnnexTerms>)> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (index, entry) in changes.annex.iter().flatten().enumerate() {
        let current = funding::find_in(change.conn, &change.contract, entry.commitment_id)?
            .ok_or_else(|| ApiError::internal("a commitment the amendment was judged with went missing"))?;
        let (old, new) = set_years(change, current, &entry.years, reason).map_err(|error| match error {
            ApiError::ValidationFailed(errors) => {
                ApiError::ValidationFailed(under(&format!("/changes/annex/{index}"), errors))
            }
            other => other,
        })?;
        before.push(annex_terms(entry.commitment_id, &old)?);
        after.push(annex_terms(entry.commitment_id, &new)?);
    }
    Ok((before, after))
}

/// Removes the parties that leave. Their délibération and other documents stay with the
/// contract, linked to the amendment they left by (unless they belong to another amendment).
fn leave(
    change: &mut ContractChange<'_>,
    removed: Vec<(PartyRow, OrganisationRow)>,
    amendment: &AmendmentRow,
) -> ApiResult<Vec<PartyView>> {
    let mut left = Vec::new();
    for (party, organisation) in removed {
        let reason = format!("{} left the contract by amendment {}", organisation.name, amendment.number);
        for document in documents::of_party(change.conn, &change.contract, party.id)? {
            let moved = change.next(DocumentRow {
                party_id: None,
                amendment_id: document.amendment_id.or(Some(amendment.id)),
                ..document.clone()
            });
            documents::update(change.conn, &change.contract, &moved)?;
            change.updated(&document, &moved, Some(&reason))?;
        }
        parties::delete(change.conn, &change.contract, party.id)?;
        left.push(party_view(party, organisation));
    }
    Ok(left)
}

/// What an amendment applies with: its text and the signatures it gathered.
#[derive(Clone, Copy)]
pub(crate) struct Applied<'a> {
    pub changes: &'a AmendmentChanges,
    pub rationale: &'a str,
    pub effective_on: NaiveDate,
    pub signed_on: NaiveDate,
    pub signatures: &'a [Signature],
}

/// The contract's terms with the amendment's changes applied. Its predecessors stay out of the
/// draft: an amendment does not change them, and they were checked when the contract was signed.
fn amended_draft(before: &ContractView, changes: &AmendmentChanges) -> ContractDraft {
    let stored = ContractDraft::of(before);
    ContractDraft {
        title: changes.title.as_ref().map_or(stored.title, |title| title.trim().to_owned()),
        end_date: changes.end_date.unwrap_or(stored.end_date),
        fields: changes.fields.as_ref().map_or(stored.fields, |fields| fields.iter().copied().collect()),
        perimeter: changes.perimeter.as_ref().map_or(stored.perimeter, |perimeter| Perimeter {
            epcis: perimeter.epcis.clone(),
            communes: perimeter.communes.clone(),
        }),
        predecessor_ids: Vec::new(),
        ..stored
    }
}

/// `errors` with their pointers moved under `prefix`, where the amendment body holds them.
fn under(prefix: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut error| {
            error.pointer = error.pointer.map(|pointer| format!("{prefix}{pointer}"));
            error
        })
        .collect()
}

/// Whether `signed_on` comes before the contract's own signature.
pub(crate) fn signed_before_contract(contract: &ScopedContract, signed_on: NaiveDate) -> bool {
    contract.row().signed_on.is_some_and(|contract_signed_on| signed_on < contract_signed_on)
}

/// The terms both amendments set (end date, fields, perimeter, title): what the later would
/// silently undo of the earlier.
pub(crate) fn overlapping_terms(one: &AmendmentChanges, other: &AmendmentChanges) -> Vec<&'static str> {
    let set = |changes: &AmendmentChanges| {
        [
            ("end_date", changes.end_date.is_some()),
            ("fields", changes.fields.is_some()),
            ("perimeter", changes.perimeter.is_some()),
            ("title", changes.title.is_some()),
        ]
    };
    set(one).into_iter().zip(set(other)).filter(|((_, a), (_, b))| *a && *b).map(|((term, _), _)| term).collect()
}

/// Judges one signature of a draft whose signatories are `concerned`.
pub(crate) fn check_signature(
    contract: &ScopedContract,
    organisation: &OrganisationRow,
    signature: &Signature,
    concerned: &[Uuid],
) -> Result<(), Vec<FieldError>> {
    let named = |name: &Option<String>| name.as_deref().is_some_and(|name| !name.trim().is_empty());
    let errors = rules::check_signature(&rules::SignatureFacts {
        kind: organisation.kind,
        concerned: concerned.contains(&organisation.id),
        has_deliberation_date: signature.deliberation_date.is_some(),
        has_deliberation_ref: named(&signature.deliberation_ref),
        names: [&signature.signatory_name, &signature.second_signatory_name]
            .into_iter()
            .filter(|name| named(name))
            .count(),
        signed_on: signature.signed_on,
        contract_signed_on: contract.row().signed_on,
    });
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}
