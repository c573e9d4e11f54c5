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
        Caf = "caf" => "Caisse d'allocations familiales",
        Commune = "commune" => "Commune",
        Epci = "epci" => "Établissement public de coopération intercommunale",
        Departement = "departement" => "Conseil départemental",
        Region = "region" => "Région",
        Etat = "etat" => "État",
        Msa = "msa" => "Mutualité sociale agricole",
        Cpam = "cpam" => "Caisse primaire d'assurance maladie",
        Carsat = "carsat" => "Caisse d'assurance retraite et de la santé au travail",
        CcasCias = "ccas_cias" => "Centre (inter)communal d'action sociale",
        SyndicatIntercommunal = "syndicat_intercommunal" => "Syndicat intercommunal",
        Association = "association" => "Association",
        Entreprise = "entreprise" => "Entreprise",
        Other = "other" => "Autre",
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
        Eaje = "eaje" => "Établissement d'accueil du jeune enfant",
        AlshPeriscolaire = "alsh_periscolaire" => "Accueil de loisirs périscolaire",
        AlshExtrascolaire = "alsh_extrascolaire" => "Accueil de loisirs extrascolaire",
        AccueilJeunes = "accueil_jeunes" => "Accueil de jeunes",
        Rpe = "rpe" => "Relais petite enfance",
        Laep = "laep" => "Lieu d'accueil enfants-parents",
        Ludotheque = "ludotheque" => "Ludothèque",
        CentreSocial = "centre_social" => "Centre social",
        EspaceVieSociale = "espace_vie_sociale" => "Espace de vie sociale",
        Other = "other" => "Autre",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_and_stored_codes_agree() {
        for kind in OrganisationKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        for kind in EquipmentType::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
