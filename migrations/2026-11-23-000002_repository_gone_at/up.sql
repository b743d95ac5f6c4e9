-- When a parse last found the repository gone from its host (404, or no longer in the local
-- tree); NULL while it exists. Discovery seeing it again clears it. Cleanup deletes
-- repositories gone for longer than `cleanup.gone_retention_days`.
ALTER TABLE repositories ADD COLUMN gone_at timestamptz;
CREATE INDEX repositories_gone_at ON repositories (gone_at) WHERE gone_at IS NOT NULL;
