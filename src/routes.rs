//! The table of contents of the API: every route, registered through utoipa's router so that no
//! route can exist outside the OpenAPI document.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api::{health, territories};
use crate::openapi;

pub fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::health_live)
        .service(health::health_ready)
        .service(openapi::openapi_json)
        .service(openapi::docs)
        .service(
            scope::scope("/v1")
                .service(territories::list_departments)
                .service(territories::get_department)
                .service(territories::list_epcis)
                .service(territories::get_epci)
                .service(territories::list_communes)
                .service(territories::get_commune),
        );
}
