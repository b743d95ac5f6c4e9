DROP INDEX repositories_gone_at;
ALTER TABLE repositories DROP COLUMN gone_at;
