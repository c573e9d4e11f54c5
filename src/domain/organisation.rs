//! Partners (organisations) and the facilities (equipments) they run.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::text_codes;

/// What kind of body a partner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// Caisse d'allocations familiales: one per département.
    Caf,
    Commune,
    /// Établissement public de coopération intercommunale.
    Epci,
    /// Conseil départemental.
    Departement,
    Region,
    Etat,
    Msa,
    Cpam,
    Carsat,
    CcasCias,
    SyndicatIntercommunal,
    Association,
    Entreprise,
    Other,
}

text_codes! {
    OrganisationKind {
        Caf = "caf",
        Commune = "commune",
        Epci = "epci",
        Departement = "departement",
        Region = "region",
        Etat = "etat",
        Msa = "msa",
        Cpam = "cpam",
        Carsat = "carsat",
        CcasCias = "ccas_cias",
        SyndicatIntercommunal = "syndicat_intercommunal",
        Association = "association",
        Entreprise = "entreprise",
        Other = "other",
    }
}

impl OrganisationKind {
    /// Local authorities and their groupings: the "collectivités" a CTG is signed with.
    pub fn is_collectivity(self) -> bool {
        matches!(self, Self::Commune | Self::Epci | Self::SyndicatIntercommunal | Self::Departement | Self::Region)
    }

    /// Every kind has a SIREN but `other` (an informal group, a foreign body).
    pub fn requires_siren(self) -> bool {
        self != Self::Other
    }
}

/// What kind of facility an equipment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentType {
    /// Établissement d'accueil du jeune enfant (crèche).
    Eaje,
    AlshPeriscolaire,
    AlshExtrascolaire,
    AccueilJeunes,
    /// Relais petite enfance (ex-RAM).
    Rpe,
    /// Lieu d'accueil enfants-parents.
    Laep,
    Ludotheque,
    CentreSocial,
    EspaceVieSociale,
    Other,
}

text_codes! {
    EquipmentType {
        Eaje = "eaje",
        AlshPeriscolaire = "alsh_periscolaire",
        AlshExtrascolaire = "alsh_extrascolaire",
        AccueilJeunes = "accueil_jeunes",
        Rpe = "rpe",
        Laep = "laep",
        Ludotheque = "ludotheque",
        CentreSocial = "centre_social",
        EspaceVieSociale = "espace_vie_sociale",
        Other = "other",
    }
}
