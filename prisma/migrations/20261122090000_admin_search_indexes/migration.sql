-- CreateIndex
CREATE INDEX "users_balance_id_idx" ON "users"("balance", "id");

-- Case-insensitive prefix search for the dashboard's user finder (email, id, name, Stripe
-- customer id). The search lower-cases the term and compares `lower(col) COLLATE "C" LIKE 'term%'`:
-- a btree in the "C" collation serves LIKE prefixes whatever the database's default collation, and
-- the email index also serves the keyset "sort by email" (ORDER BY lower(email_normalized) COLLATE "C", id).
-- Prisma cannot express expression indexes, so they are written here by hand; its schema engine
-- leaves expression indexes alone when diffing (`npm run db:migration -- x` reports nothing to create).
CREATE INDEX "users_email_prefix_idx" ON "users" ((lower("email_normalized")) COLLATE "C", "id");
CREATE INDEX "users_id_prefix_idx" ON "users" ((lower("id")) COLLATE "C");
CREATE INDEX "users_name_prefix_idx" ON "users" ((lower("name")) COLLATE "C");
CREATE INDEX "users_stripe_customer_prefix_idx" ON "users" ((lower("stripe_customer_id")) COLLATE "C");
