//! Partners (organisations) and the facilities (equipments) they run.

use super::codes::text_codes;

text_codes! {
    /// What kind of body a partner is.
    OrganisationKind {
        /// Caisse d'allocations familiales: one per département.
        Caf = "caf" => "Caisse d'allocations familiales",
        Commune = "commune" => "Commune",
        /// Établissement public de coopération intercommunale.
        Epci = "epci" => "Établissement public de coopération intercommunale",
        /// Conseil départemental.
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

text_codes! {
    /// What kind of facility an equipment is.
    EquipmentType {
        /// Établissement d'accueil du jeune enfant (crèche).
        Eaje = "eaje" => "Établissement d'accueil du jeune enfant",
        AlshPeriscolaire = "alsh_periscolaire" => "Accueil de loisirs périscolaire",
        AlshExtrascolaire = "alsh_extrascolaire" => "Accueil de loisirs extrascolaire",
        AccueilJeunes = "accueil_jeunes" => "Accueil de jeunes",
        /// Relais petite enfance (ex-RAM).
        Rpe = "rpe" => "Relais petite enfance",
        /// Lieu d'accueil enfants-parents.
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
