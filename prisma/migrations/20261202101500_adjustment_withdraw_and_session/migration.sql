-- AlterEnum
ALTER TYPE "AdjustmentStatus" ADD VALUE 'withdrawn';

-- AlterTable
ALTER TABLE "adjustment_requests" ADD COLUMN     "checkout_session_id" TEXT;
