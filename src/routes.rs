//! The table of contents of the API: every route, registered through utoipa's router so that no
//! route can exist outside the OpenAPI document.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api::{
    action_plan, amendments, cej_transfer, contract_indicators, contracts, department_summary, docs, enums, equipments,
    events, funding, funding_summary, health, history, indicators, observations, organisations, parties, schedule,
    territories,
};

pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::health_live)
        .service(health::health_ready)
        .service(docs::openapi_json)
        .service(docs::docs)
        .service(
            scope::scope("/v1")
                .service(enums::list_enums)
                .service(territories::list_departments)
                .service(territories::get_department)
                .service(department_summary::get_department_summary)
                .service(territories::list_epcis)
                .service(territories::get_epci)
                .service(territories::list_communes)
                .service(territories::get_commune)
                .service(organisations::list_organisations)
                .service(organisations::create_organisation)
                .service(organisations::get_organisation)
                .service(organisations::update_organisation)
                .service(organisations::delete_organisation)
                .service(equipments::list_equipments)
                .service(equipments::create_equipment)
                .service(equipments::get_equipment)
                .service(equipments::update_equipment)
                .service(equipments::delete_equipment)
                .service(contracts::list_contracts)
                .service(contracts::create_contract)
                .service(contracts::get_contract)
                .service(contracts::update_contract)
                .service(contracts::transition_contract)
                .service(cej_transfer::get_cej_transfer)
                .service(parties::list_parties)
                .service(parties::create_party)
                .service(parties::get_party)
                .service(parties::update_party)
                .service(parties::delete_party)
                .service(action_plan::list_axes)
                .service(action_plan::create_axis)
                .service(action_plan::get_axis)
                .service(action_plan::update_axis)
                .service(action_plan::delete_axis)
                .service(action_plan::list_actions)
                .service(action_plan::create_action)
                .service(action_plan::get_action)
                .service(action_plan::update_action)
                .service(action_plan::delete_action)
                .service(contract_indicators::list_contract_indicators)
                .service(contract_indicators::create_contract_indicator)
                .service(contract_indicators::get_contract_indicator)
                .service(contract_indicators::update_contract_indicator)
                .service(contract_indicators::delete_contract_indicator)
                .service(amendments::list_amendments)
                .service(amendments::create_amendment)
                .service(amendments::get_amendment)
                .service(history::list_history)
                .service(funding::list_commitments)
                .service(funding::create_commitment)
                .service(funding::get_commitment)
                .service(funding::update_commitment)
                .service(funding::delete_commitment)
                .service(funding::transition_commitment)
                .service(schedule::get_schedule)
                .service(schedule::generate_schedule)
                .service(schedule::list_payments)
                .service(schedule::create_payment)
                .service(schedule::get_payment)
                .service(funding_summary::get_funding_summary)
                .service(indicators::list_indicators)
                .service(indicators::create_indicator)
                .service(indicators::get_indicator)
                .service(indicators::update_indicator)
                .service(indicators::delete_indicator)
                .service(observations::list_observations)
                .service(observations::bulk_observations)
                .service(events::list_events),
        );
}
