ALTER TABLE repositories ALTER COLUMN full_name_key DROP NOT NULL;
ALTER TABLE organizations ALTER COLUMN login_key DROP NOT NULL;
