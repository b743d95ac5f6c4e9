DELETE FROM job_executions WHERE job_type = 'snapshot';
ALTER TABLE job_executions DROP CONSTRAINT job_executions_job_type_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_job_type_check
    CHECK (job_type IN ('scrape', 'parse', 'enrich', 'discover', 'cleanup'));
DROP TABLE organization_daily_counts;
DROP TABLE package_daily_counts;
ALTER TABLE package_organizations DROP COLUMN first_seen_at;
DROP TABLE dependency_events;
