DROP TABLE job_executions;
DROP TABLE api_keys;
DROP TABLE package_organizations;
DROP TABLE dependencies;
DROP TABLE repositories;
DROP TABLE organizations;
DROP TABLE packages;
DROP EXTENSION IF EXISTS pg_trgm;
