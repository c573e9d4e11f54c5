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

diesel::table! {
    organisations (id) {
        id -> Text,
        kind -> Text,
        name -> Text,
        search_name -> Text,
        siren -> Nullable<Text>,
        department -> Nullable<Text>,
        insee_code -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    equipments (id) {
        id -> Text,
        #[sql_name = "type"]
        equipment_type -> Text,
        name -> Text,
        siret -> Nullable<Text>,
        manager_id -> Text,
        commune -> Text,
        department -> Text,
        capacity_places -> Nullable<BigInt>,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contracts (id) {
        id -> Text,
        kind -> Text,
        reference -> Text,
        title -> Text,
        department -> Text,
        status -> Text,
        start_date -> Date,
        end_date -> Date,
        signed_on -> Nullable<Date>,
        ended_on -> Nullable<Date>,
        status_reason -> Nullable<Text>,
        fields -> Text,
        linked_schemes -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        perimeter_epcis -> Text,
        perimeter_communes -> Text,
        covered_communes -> BigInt,
        covered_population -> BigInt,
        predecessor_ids -> Text,
        bonus_band -> Nullable<BigInt>,
    }
}

diesel::table! {
    contract_epcis (contract_id, epci_siren) {
        contract_id -> Text,
        epci_siren -> Text,
    }
}

diesel::table! {
    contract_communes (contract_id, insee) {
        contract_id -> Text,
        insee -> Text,
    }
}

diesel::table! {
    contract_predecessors (contract_id, predecessor_id) {
        contract_id -> Text,
        predecessor_id -> Text,
    }
}

diesel::table! {
    contract_parties (id) {
        id -> Text,
        contract_id -> Text,
        organisation_id -> Text,
        roles -> Text,
        signatory_name -> Nullable<Text>,
        signatory_title -> Nullable<Text>,
        deliberation_date -> Nullable<Date>,
        deliberation_ref -> Nullable<Text>,
        signed_on -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        second_signatory_name -> Nullable<Text>,
        second_signatory_title -> Nullable<Text>,
    }
}

diesel::table! {
    contract_axes (id) {
        id -> Text,
        contract_id -> Text,
        code -> Text,
        title -> Text,
        field -> Nullable<Text>,
        position -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_actions (id) {
        id -> Text,
        contract_id -> Text,
        axis_id -> Nullable<Text>,
        code -> Text,
        title -> Text,
        objective -> Nullable<Text>,
        field -> Nullable<Text>,
        pilot_organisation_id -> Nullable<Text>,
        planned_start -> Nullable<Date>,
        planned_end -> Nullable<Date>,
        actual_start -> Nullable<Date>,
        actual_end -> Nullable<Date>,
        status -> Text,
        estimated_budget_cents -> Nullable<BigInt>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_amendments (id) {
        id -> Text,
        contract_id -> Text,
        number -> BigInt,
        signed_on -> Date,
        effective_on -> Date,
        rationale -> Text,
        changes -> Text,
        before -> Text,
        after -> Text,
        created_at -> Timestamp,
        signatures -> Text,
    }
}

diesel::table! {
    amendment_drafts (id) {
        id -> Text,
        contract_id -> Text,
        effective_on -> Date,
        rationale -> Text,
        changes -> Text,
        signatures -> Text,
        based_on -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_history (id) {
        id -> BigInt,
        contract_id -> Text,
        at -> Timestamp,
        actor_sub -> Text,
        actor_role -> Text,
        action -> Text,
        resource -> Text,
        resource_id -> Text,
        reason -> Nullable<Text>,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
    }
}

diesel::table! {
    funding_commitments (id) {
        id -> Text,
        contract_id -> Text,
        payee_id -> Text,
        equipment_id -> Nullable<Text>,
        programme -> Text,
        basis -> Text,
        origin -> Text,
        unit_amount_cents -> Nullable<BigInt>,
        units -> Nullable<BigInt>,
        status -> Text,
        decision_date -> Nullable<Date>,
        advance_percent -> BigInt,
        advance_splits -> Text,
        balance_due -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    funding_years (commitment_id, year) {
        commitment_id -> Text,
        year -> BigInt,
        amount_cents -> BigInt,
        forecast_cents -> Nullable<BigInt>,
        actual_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    schedule_lines (id) {
        id -> Text,
        commitment_id -> Text,
        year -> BigInt,
        kind -> Text,
        due_on -> Date,
        amount_cents -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        commitment_id -> Text,
        schedule_line_id -> Text,
        year -> BigInt,
        paid_on -> Date,
        amount_cents -> BigInt,
        reference -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feed_horizon (name) {
        name -> Text,
        purged_through -> BigInt,
        purged_through_transaction -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (caller, idempotency_key) {
        caller -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Nullable<BigInt>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    indicators (code) {
        code -> Text,
        label -> Text,
        description -> Nullable<Text>,
        unit -> Text,
        ascending -> Bool,
        field -> Nullable<Text>,
        source -> Text,
        geo_level -> Text,
        periodicity -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    observation_imports (id) {
        id -> Text,
        owner -> Text,
        media_type -> Text,
        bytes -> BigInt,
        status -> Text,
        rows_read -> BigInt,
        rows_written -> BigInt,
        inserted -> BigInt,
        updated -> BigInt,
        errors -> Nullable<Text>,
        ingest_id -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    observations (indicator, geo_level, geo_code, period, origin) {
        indicator -> Text,
        geo_level -> Text,
        geo_code -> Text,
        period -> Text,
        value -> Nullable<Text>,
        suppressed -> Bool,
        source -> Text,
        millesime -> Nullable<Text>,
        ingest_id -> Text,
        ingest_line -> BigInt,
        updated_at -> Timestamp,
        origin -> Text,
    }
}

diesel::table! {
    contract_indicators (id) {
        id -> Text,
        contract_id -> Text,
        indicator -> Text,
        geo_level -> Text,
        geo_code -> Text,
        baseline_period -> Nullable<Text>,
        baseline_value -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_indicator_targets (contract_indicator_id, period) {
        contract_indicator_id -> Text,
        period -> Text,
        value -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        occurred_at -> Timestamp,
        event_type -> Text,
        resource -> Text,
        resource_id -> Text,
        contract_id -> Nullable<Text>,
        department -> Nullable<Text>,
        actor_sub -> Text,
        actor_role -> Text,
        body -> Nullable<Text>,
        transaction_id -> BigInt,
    }
}

diesel::table! {
    bonus_rate_years (year) {
        year -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    bonus_rates (year, programme, band) {
        year -> BigInt,
        programme -> Text,
        band -> BigInt,
        per_place_cents -> BigInt,
    }
}

diesel::table! {
    evidence_requirements (programme, kind) {
        programme -> Text,
        kind -> Text,
    }
}

diesel::table! {
    funding_evidence (id) {
        id -> Text,
        commitment_id -> Text,
        year -> BigInt,
        kind -> Text,
        received_on -> Date,
        validated_on -> Nullable<Date>,
        validated_by -> Nullable<Text>,
        note -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    funding_continuations (commitment_id, continues_id) {
        commitment_id -> Text,
        continues_id -> Text,
    }
}

diesel::table! {
    contract_diagnostics (contract_id) {
        contract_id -> Text,
        started_on -> Date,
        completed_on -> Nullable<Date>,
        led_by -> Text,
        fields -> Text,
        findings -> Text,
        needs -> Text,
        indicators -> Text,
        observations -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_evaluations (id) {
        id -> Text,
        contract_id -> Text,
        kind -> Text,
        year -> Nullable<BigInt>,
        held_on -> Date,
        axes -> Text,
        actions -> Text,
        summary -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_party_commitments (id) {
        id -> Text,
        contract_id -> Text,
        party_id -> Text,
        field -> Nullable<Text>,
        text -> Text,
        engineering_support -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contract_meetings (id) {
        id -> Text,
        contract_id -> Text,
        kind -> Text,
        held_on -> Date,
        title -> Text,
        present -> Text,
        decisions -> Text,
        notes -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        contract_id -> Text,
        kind -> Text,
        filename -> Text,
        media_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        party_id -> Nullable<Text>,
        amendment_id -> Nullable<Text>,
        evidence_id -> Nullable<Text>,
        uploaded_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        meeting_id -> Nullable<Text>,
        evaluation_id -> Nullable<Text>,
        action_id -> Nullable<Text>,
    }
}

diesel::table! {
    document_chunks (document_id, seq) {
        document_id -> Text,
        seq -> BigInt,
        bytes -> Binary,
    }
}

diesel::joinable!(communes -> departments (department));
diesel::joinable!(funding_commitments -> contracts (contract_id));
diesel::joinable!(communes -> epcis (epci_siren));
diesel::joinable!(contract_parties -> organisations (organisation_id));
diesel::joinable!(contract_parties -> contracts (contract_id));
diesel::joinable!(equipments -> organisations (manager_id));
diesel::joinable!(contract_indicators -> contracts (contract_id));
diesel::joinable!(contract_indicator_targets -> contract_indicators (contract_indicator_id));
diesel::allow_tables_to_appear_in_same_query!(
    departments,
    epcis,
    communes,
    organisations,
    equipments,
    contracts,
    contract_epcis,
    contract_communes,
    contract_predecessors,
    contract_parties,
    contract_axes,
    contract_actions,
    contract_amendments,
    amendment_drafts,
    contract_history,
    funding_commitments,
    funding_years,
    schedule_lines,
    payments,
    idempotency_keys,
    indicators,
    observations,
    contract_indicators,
    contract_indicator_targets,
    events,
    bonus_rate_years,
    bonus_rates,
    evidence_requirements,
    funding_evidence,
    funding_continuations,
    contract_diagnostics,
    contract_meetings,
    contract_evaluations,
    contract_party_commitments,
    documents,
    document_chunks,
);
