# creditdesk: one image for the web server, the reconciliation worker and the CLI.
# docs/deploy.md explains how to run it; compose.yaml runs it beside Postgres.
FROM node:20-bookworm-slim

WORKDIR /app
RUN chown node:node /app
USER node

# Dependencies first, so a code change does not reinstall them. Dev dependencies are included:
# the build needs @remix-run/dev, and postinstall's `prisma generate` (which writes the client to
# app/generated/) needs the prisma CLI and the schema.
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node prisma ./prisma
# The local stand-in for @prisma/streams-local (package.json "overrides"; README, Requirements).
COPY --chown=node:node scripts/stubs ./scripts/stubs
RUN npm ci --include=dev --no-audit --no-fund

COPY --chown=node:node . .
RUN npm run build && mkdir -p /app/data

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
EXPOSE 3000

# The slim image has no curl; Node's fetch does the probe. 200 only while the database answers.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Not `npm start`: the image is already built, and node receives SIGTERM directly.
CMD ["node", "build/server.js"]
