DROP TABLE organization_daily_counts;
DROP TABLE package_daily_counts;
ALTER TABLE package_organizations DROP COLUMN first_seen_at;
DROP TABLE dependency_events;
