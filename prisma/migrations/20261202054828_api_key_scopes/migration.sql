-- API key scopes, expiry and per-key rate limits (app/services/api-keys.server.ts).

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "rate_limit_burst" INTEGER,
ADD COLUMN     "rate_limit_per_second" INTEGER,
ADD COLUMN     "scopes" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Keys made before scopes existed keep full access: every scope the API has today, written out
-- (no wildcard), so a scope added later is granted to them only by a migration that says so.
UPDATE "api_keys"
SET "scopes" = ARRAY['users:read', 'users:write', 'debits:write', 'packs:read', 'checkout:write']::TEXT[];

-- A limit of zero or less would refuse every request; the application validates too.
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_rate_limit_positive"
  CHECK ("rate_limit_per_second" IS NULL OR "rate_limit_per_second" > 0),
  ADD CONSTRAINT "api_keys_rate_limit_burst_positive"
  CHECK ("rate_limit_burst" IS NULL OR "rate_limit_burst" > 0);
