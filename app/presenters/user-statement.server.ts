import { z } from "zod";
import { getDb } from "~/services/infra/db.server";
import { NotFoundError } from "~/services/errors.server";
import { getStatement, type StatementPeriod } from "~/services/statements.server";

/** The statement page's pager: entries after / before a seq (positive whole numbers). */
const seqParam = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? v : undefined),
  z.coerce.number({ error: "The statement page link is not valid." }).int().positive().optional(),
);
export const statementPageSchema = z.object({ after: seqParam, before: seqParam });

/**
 * The statement page's read model: who the user is and their statement for the period (opening
 * balance, the period's entries one page at a time, closing balance, totals). The numbers come from
 * app/services/statements.server.ts, which the CSV export shares.
 */
export async function getUserStatement(
  userId: string,
  /** null while the period's filters do not parse: the user only, no statement. */
  period: StatementPeriod | null,
  page: { after?: number; before?: number },
) {
  const user = await getDb().user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, balance: true },
  });
  if (!user) throw new NotFoundError("User", userId);
  return { user, statement: period ? await getStatement(userId, period, page) : null };
}
