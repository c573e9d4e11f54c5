// Written by hand, once for both backends: `diesel print-schema` differs between them.
// Keep column order equal to the structs that select `all_columns`.

diesel::table! {
    departments (code) {
        code -> Text,
        name -> Text,
        region -> Text,
        chef_lieu -> Nullable<Text>,
        zone -> Text,
        population -> BigInt,
        commune_count -> BigInt,
    }
}

diesel::table! {
    epcis (siren) {
        siren -> Text,
        name -> Text,
        search_name -> Text,
        kind -> Text,
        financing_mode -> Nullable<Text>,
        population -> Nullable<BigInt>,
    }
}

diesel::table! {
    communes (insee) {
        insee -> Text,
        name -> Text,
        search_name -> Text,
        kind -> Text,
        department -> Text,
        region -> Nullable<Text>,
        siren -> Nullable<Text>,
        epci_siren -> Nullable<Text>,
        parent_insee -> Nullable<Text>,
        postal_codes -> Text,
        population -> Nullable<BigInt>,
    }
}

diesel::joinable!(communes -> departments (department));
diesel::joinable!(communes -> epcis (epci_siren));
diesel::allow_tables_to_appear_in_same_query!(departments, epcis, communes);
