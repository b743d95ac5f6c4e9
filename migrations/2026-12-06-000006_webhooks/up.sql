-- Webhooks (docs/webhooks.md): subscriptions owned by API keys, and one delivery per
-- (subscription, event) matched by the dispatch job from dependency_events (the outbox:
-- dependency_events.dispatched).

CREATE TABLE webhook_subscriptions (
    id uuid PRIMARY KEY,
    -- The owner: only this key sees, changes or deletes the subscription.
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description text CHECK (length(description) <= 500),
    events text[] NOT NULL CHECK (
        cardinality(events) > 0
        AND events <@ ARRAY['dependent.added', 'dependent.removed', 'organization.added',
                            'organization.removed']::text[]),
    min_stars bigint NOT NULL DEFAULT 0 CHECK (min_stars >= 0),
    -- The scope, exactly one of: these packages, or every package whose repository is
    -- under this organization (packages.repository_url = https://{host}/{login}/...).
    package_ids uuid[],
    organization_host text,
    organization_login text,
    -- AES-256-GCM (nonce ‖ ciphertext ‖ tag) of the signing secret under
    -- webhooks.secret_key; the secret itself is shown once and never stored in clear.
    secret_ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Set after webhooks.disable_after_failures failed deliveries in a row or a 410 Gone;
    -- the reason says which, and what the receiver last answered.
    disabled_at timestamptz,
    disabled_reason text,
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    CHECK ((package_ids IS NOT NULL AND cardinality(package_ids) BETWEEN 1 AND 100
            AND organization_host IS NULL AND organization_login IS NULL)
        OR (package_ids IS NULL AND organization_host IS NOT NULL
            AND organization_login IS NOT NULL)),
    CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);
-- A key's own subscriptions, in the listing's order.
CREATE INDEX webhook_subscriptions_owner ON webhook_subscriptions (api_key_id, id);
-- Dispatch: the subscriptions of an event's package.
CREATE INDEX webhook_subscriptions_packages ON webhook_subscriptions USING gin (package_ids);
-- Dispatch: the subscriptions of an organization's packages.
CREATE INDEX webhook_subscriptions_organization
    ON webhook_subscriptions (organization_host, lower(organization_login))
    WHERE organization_login IS NOT NULL;

CREATE TABLE webhook_deliveries (
    -- Also the `webhook-id` header: the same across the delivery's attempts, so a receiver
    -- can ignore a message it has seen.
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- The dependency_events row (not a foreign key: events outlive nothing here, and
    -- retention may prune them before their deliveries).
    event_id bigint NOT NULL,
    event text NOT NULL CHECK (event IN (
        'dependent.added', 'dependent.removed', 'organization.added', 'organization.removed')),
    -- The exact body sent, every attempt.
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- What the last attempt got: the receiver's status, or the error (timeout, refused
    -- address, …), and how long it took.
    response_status integer,
    error text,
    latency_ms integer,
    -- When its deliver job was put on the queue; NULL for longer than a minute means the
    -- enqueue was lost, and the next dispatch enqueues it again.
    enqueued_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- A dispatch retried after a crash never delivers one event twice to one subscription.
    UNIQUE (subscription_id, event_id)
);
-- A subscription's deliveries newest first (the listing is keyset-paged on these).
CREATE INDEX webhook_deliveries_listing
    ON webhook_deliveries (subscription_id, created_at DESC, id);
-- Retention: finished deliveries by age (the dispatch job prunes them).
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at)
    WHERE status <> 'pending';
-- Deliveries whose enqueue was lost.
CREATE INDEX webhook_deliveries_unqueued ON webhook_deliveries (created_at)
    WHERE status = 'pending' AND enqueued_at IS NULL;

-- The two new jobs are recorded like the others.
ALTER TABLE job_executions DROP CONSTRAINT job_executions_job_type_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_job_type_check CHECK (job_type IN (
    'scrape', 'parse', 'enrich', 'discover', 'cleanup', 'snapshot', 'dispatch', 'deliver'));
