import { createStaff } from "../../app/services/auth/staff.server";
import { readStdin, requireOption, stringOption, type CliCommand } from "../cli-kit";

export const staffCreateCommand: CliCommand = {
  name: "staff create",
  summary: "Create a staff member (password from stdin, or generated and printed once)",
  help: `Usage: npm run cli -- staff create --email EMAIL --role admin|support|finance [--name NAME] [--json]

The password is read from stdin when stdin is not a terminal (e.g. \`echo "$PW" | npm run cli -- staff create …\`);
otherwise a random password is generated, printed once, and must be changed at first sign-in.`,
  options: { email: { type: "string" }, role: { type: "string" }, name: { type: "string" } },
  needsDatabase: true,
  async run(ctx) {
    const email = requireOption(ctx, "email");
    const role = requireOption(ctx, "role");
    const password = ctx.io.stdin.isTTY
      ? null
      : (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
    const { staff, generatedPassword } = await createStaff(
      { email, role, name: stringOption(ctx, "name"), password },
      { type: "cli", label: process.env.USER ?? "cli" },
    );
    if (ctx.json)
      ctx.emit({ id: staff.id, email: staff.email, role: staff.role, generatedPassword });
    ctx.say(`Created ${staff.role} ${staff.email} (${staff.id}).`);
    if (generatedPassword) ctx.say(`Initial password (shown once): ${generatedPassword}`);
    return 0;
  },
};
