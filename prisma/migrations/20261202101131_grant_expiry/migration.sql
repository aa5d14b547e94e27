-- AlterTable
ALTER TABLE "credit_packs" ADD COLUMN     "credits_expire_days" INTEGER,
ADD COLUMN     "credits_rollover" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "expiry_problem" TEXT;
