//! Every enumeration of the API with its codes and French labels, for forms and exports.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::amendments::AmendmentStatus;
use crate::domain::contract::{ActionStatus, ContractKind, ContractStatus, Field, PartyRole, SchemeKind};
use crate::domain::documents::DocumentKind;
use crate::domain::funding::{
    Basis, CommitmentStatus, EvidenceKind, LineKind, LineStatus, MoneyOrigin, Origin, Programme,
};
use crate::domain::indicators::{GeoLevel, Periodicity, Unit};
use crate::domain::lifecycle::TransitionAction;
use crate::domain::observations::{ImportStatus, ObservationOrigin};
use crate::domain::organisation::{EquipmentType, OrganisationKind};
use crate::domain::project::{Assessment, EvaluationKind, MeetingKind};
use crate::domain::reference::{CommuneKind, EpciKind, Zone};
use crate::http::query::{ApiQuery, NoParameters};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnumValue {
    #[schema(example = "petite_enfance")]
    pub code: String,
    #[schema(example = "Petite enfance")]
    pub label: String,
}

macro_rules! enum_table {
    ($($name:literal => $ty:ty),+ $(,)?) => {{
        let mut table = BTreeMap::new();
        $(
            table.insert(
                $name,
                <$ty>::ALL.iter().map(|value| EnumValue { code: value.as_str().to_owned(), label: value.label().to_owned() }).collect::<Vec<_>>(),
            );
        )+
        table
    }};
}

/// Every enumeration, by the name of the field it fills.
fn enums() -> BTreeMap<&'static str, Vec<EnumValue>> {
    enum_table! {
        "contract_kind" => ContractKind,
        "contract_status" => ContractStatus,
        "field" => Field,
        "linked_scheme_kind" => SchemeKind,
        "party_role" => PartyRole,
        "action_status" => ActionStatus,
        "meeting_kind" => MeetingKind,
        "evaluation_kind" => EvaluationKind,
        "assessment" => Assessment,
        "transition_action" => TransitionAction,
        "amendment_status" => AmendmentStatus,
        "organisation_kind" => OrganisationKind,
        "equipment_type" => EquipmentType,
        "epci_kind" => EpciKind,
        "commune_kind" => CommuneKind,
        "zone" => Zone,
        "programme" => Programme,
        "funding_basis" => Basis,
        "funding_origin" => Origin,
        "commitment_status" => CommitmentStatus,
        "schedule_line_kind" => LineKind,
        "schedule_line_status" => LineStatus,
        "evidence_kind" => EvidenceKind,
        "document_kind" => DocumentKind,
        "money_origin" => MoneyOrigin,
        "indicator_unit" => Unit,
        "geo_level" => GeoLevel,
        "periodicity" => Periodicity,
        "observation_origin" => ObservationOrigin,
        "observation_import_status" => ImportStatus,
    }
}

/// Every enumeration with its codes and their French labels.
///
/// Who may call it: every role.
#[utoipa::path(
    tag = "meta",
    responses((status = 200, description = "Enumerations by name", body = BTreeMap<String, Vec<EnumValue>>),
        (status = 400, description = "A query parameter was sent; this read takes none (`INVALID_PARAMETER`)", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/enums")]
pub async fn list_enums(_caller: Caller, _no_parameters: ApiQuery<NoParameters>) -> HttpResponse {
    HttpResponse::Ok().json(enums())
}

#[cfg(test)]
mod tests {
    use super::enums;

    #[test]
    fn every_enumeration_has_codes_and_labels() {
        let table = enums();
        assert_eq!(table["field"].len(), 10);
        for (name, values) in table {
            assert!(!values.is_empty(), "{name}");
            for value in values {
                assert!(
                    !value.label.is_empty()
                        && value.code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{name}: {}",
                    value.code
                );
            }
        }
    }
}
