// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        key_hash -> Bytea,
        prefix -> Text,
        tier -> Text,
        rate_limit -> Nullable<Int4>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    dependencies (repository_id, package_id) {
        package_id -> Uuid,
        repository_id -> Uuid,
        kind -> Text,
        kinds -> Array<Text>,
        requirement -> Text,
        resolved_version -> Nullable<Text>,
        direct -> Nullable<Bool>,
        manifest_paths -> Array<Text>,
        organization_id -> Uuid,
        repo_stars -> Int4,
        repo_pushed_at -> Nullable<Timestamptz>,
        repo_archived -> Bool,
        repo_fork -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    dependency_events (id) {
        id -> Int8,
        package_id -> Uuid,
        event -> Text,
        host -> Text,
        organization_id -> Uuid,
        organization -> Text,
        repository_id -> Nullable<Uuid>,
        repository -> Nullable<Text>,
        kind -> Nullable<Text>,
        stars -> Int8,
        dispatched -> Bool,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    job_executions (id) {
        id -> Uuid,
        job_id -> Text,
        job_type -> Text,
        queue -> Text,
        attempt -> Int4,
        status -> Text,
        records_processed -> Int4,
        error -> Nullable<Text>,
        metadata -> Jsonb,
        started_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    organization_daily_counts (organization_id, day) {
        organization_id -> Uuid,
        day -> Date,
        repositories_count -> Int4,
        stars_total -> Int8,
        packages_count -> Int4,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        host -> Text,
        login -> Text,
        login_key -> Text,
        kind -> Text,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        website_url -> Nullable<Text>,
        sponsors_listing_url -> Nullable<Text>,
        funding -> Jsonb,
        repositories_count -> Int4,
        stars_total -> Int8,
        enriched_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    package_daily_counts (package_id, day) {
        package_id -> Uuid,
        day -> Date,
        dependents_count -> Int4,
        organizations_count -> Int4,
        stars_sum -> Int8,
        kinds -> Jsonb,
    }
}

diesel::table! {
    package_organizations (package_id, organization_id) {
        package_id -> Uuid,
        organization_id -> Uuid,
        repositories_count -> Int4,
        stars_sum -> Int8,
        last_seen_at -> Timestamptz,
        first_seen_at -> Timestamptz,
    }
}

diesel::table! {
    packages (id) {
        id -> Uuid,
        ecosystem -> Text,
        name -> Text,
        normalized_name -> Text,
        description -> Nullable<Text>,
        homepage_url -> Nullable<Text>,
        repository_url -> Nullable<Text>,
        latest_version -> Nullable<Text>,
        funding -> Jsonb,
        dependents_count -> Int4,
        organizations_count -> Int4,
        metadata_refreshed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    repositories (id) {
        id -> Uuid,
        organization_id -> Uuid,
        host -> Text,
        full_name -> Text,
        full_name_key -> Text,
        description -> Nullable<Text>,
        language -> Nullable<Text>,
        default_branch -> Nullable<Text>,
        stars -> Int4,
        forks -> Int4,
        archived -> Bool,
        fork -> Bool,
        pushed_at -> Nullable<Timestamptz>,
        change_token -> Nullable<Text>,
        parsed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        gone_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        event_id -> Int8,
        event -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        response_status -> Nullable<Int4>,
        error -> Nullable<Text>,
        latency_ms -> Nullable<Int4>,
        enqueued_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        events -> Array<Text>,
        min_stars -> Int8,
        package_ids -> Nullable<Array<Uuid>>,
        organization_host -> Nullable<Text>,
        organization_login -> Nullable<Text>,
        secret_ciphertext -> Bytea,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
    }
}

diesel::joinable!(dependencies -> organizations (organization_id));
diesel::joinable!(dependencies -> packages (package_id));
diesel::joinable!(dependencies -> repositories (repository_id));
diesel::joinable!(dependency_events -> packages (package_id));
diesel::joinable!(organization_daily_counts -> organizations (organization_id));
diesel::joinable!(package_daily_counts -> packages (package_id));
diesel::joinable!(package_organizations -> organizations (organization_id));
diesel::joinable!(package_organizations -> packages (package_id));
diesel::joinable!(repositories -> organizations (organization_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_subscriptions -> api_keys (api_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    dependencies,
    dependency_events,
    job_executions,
    organization_daily_counts,
    organizations,
    package_daily_counts,
    package_organizations,
    packages,
    repositories,
    webhook_deliveries,
    webhook_subscriptions,
);
