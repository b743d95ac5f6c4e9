DELETE FROM job_executions WHERE job_type IN ('dispatch', 'deliver');
ALTER TABLE job_executions DROP CONSTRAINT job_executions_job_type_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_job_type_check CHECK (job_type IN (
    'scrape', 'parse', 'enrich', 'discover', 'cleanup', 'snapshot'));
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
