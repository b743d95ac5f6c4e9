-- History: what changed in each package's set of dependents, and its counts day by day
-- (docs/history.md).

-- One row per change of a package's counted set, written by the edge writers in the same
-- transaction as the change: a counted edge appearing or going (parse, cleanup, a
-- repository archived, forked or restored) and a (package, organization) roll-up row
-- appearing or going. Names are copies: an event outlives the repository (cleanup deletes
-- gone ones) and the organization it names, so neither id is a foreign key.
CREATE TABLE dependency_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    package_id uuid NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    event text NOT NULL CHECK (event IN (
        'dependent.added', 'dependent.removed', 'organization.added', 'organization.removed')),
    host text NOT NULL,
    organization_id uuid NOT NULL,
    organization text NOT NULL,
    -- Dependent events only: the repository and the kind it used the package as.
    repository_id uuid,
    repository text,
    kind text CHECK (kind IN ('runtime', 'development', 'build', 'test', 'optional', 'peer')),
    -- The repository's stars (dependent events) or the organization's star sum over its
    -- repositories using the package (organization events), when it happened.
    stars bigint NOT NULL CHECK (stars >= 0),
    -- Whether webhook subscriptions have been matched against it (the outbox of deliver).
    dispatched boolean NOT NULL DEFAULT false,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((event LIKE 'dependent.%') = (repository_id IS NOT NULL AND repository IS NOT NULL
                                          AND kind IS NOT NULL))
);
-- A package's events newest first (the events listing and the feeds page by id).
CREATE INDEX dependency_events_package ON dependency_events (package_id, id DESC);
-- The outbox: events not yet matched against subscriptions, oldest first.
CREATE INDEX dependency_events_undispatched ON dependency_events (id) WHERE NOT dispatched;
-- Retention deletes by age.
CREATE INDEX dependency_events_occurred ON dependency_events (occurred_at);

-- When the organization started using the package (`since=` on the organizations
-- listing). A roll-up row that goes and comes back starts again. Existing rows take the
-- oldest of their edges' first-seen times.
ALTER TABLE package_organizations ADD COLUMN first_seen_at timestamptz NOT NULL DEFAULT now();
UPDATE package_organizations po
   SET first_seen_at = first.seen
  FROM (SELECT package_id, organization_id, min(created_at) AS seen
          FROM dependencies
         WHERE NOT repo_archived AND NOT repo_fork
         GROUP BY package_id, organization_id) first
 WHERE first.package_id = po.package_id AND first.organization_id = po.organization_id;

-- A package's counts at the end of each day they changed (the snapshot job writes a row
-- only when something differs from the package's previous row): a day with no row has the
-- counts of the latest row before it.
CREATE TABLE package_daily_counts (
    package_id uuid NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    day date NOT NULL,
    dependents_count integer NOT NULL CHECK (dependents_count >= 0),
    organizations_count integer NOT NULL CHECK (organizations_count >= 0),
    stars_sum bigint NOT NULL CHECK (stars_sum >= 0),
    -- Counted dependents per kind ({"runtime": 12, "development": 3}); kinds with none left out.
    kinds jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(kinds) = 'object'),
    PRIMARY KEY (package_id, day)
);

-- The same for organizations: their repositories, stars, and how many packages their
-- counted repositories use.
CREATE TABLE organization_daily_counts (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day date NOT NULL,
    repositories_count integer NOT NULL CHECK (repositories_count >= 0),
    stars_total bigint NOT NULL CHECK (stars_total >= 0),
    packages_count integer NOT NULL CHECK (packages_count >= 0),
    PRIMARY KEY (organization_id, day)
);

-- The snapshot job's runs are recorded like every job's.
ALTER TABLE job_executions DROP CONSTRAINT job_executions_job_type_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_job_type_check
    CHECK (job_type IN ('scrape', 'parse', 'enrich', 'discover', 'cleanup', 'snapshot'));
