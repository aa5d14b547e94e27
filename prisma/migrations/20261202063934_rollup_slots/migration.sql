-- AlterTable
ALTER TABLE "daily_rollups" DROP CONSTRAINT "daily_rollups_pkey",
ADD COLUMN     "slot" SMALLINT NOT NULL DEFAULT 0,
ADD CONSTRAINT "daily_rollups_pkey" PRIMARY KEY ("day", "currency", "slot");
