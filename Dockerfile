# syntax=docker/dockerfile:1
# Tether's container image (README, Deploying). Build from the repository root:
#   docker build -t tether .
# It runs `tether start` with every role on the embedded PGlite under /data (a volume), or on
# PostgreSQL with DATABASE_URL; any other command of the CLI works too:
#   docker run --rm -v tether-data:/data tether backup /data/tether.backup
ARG NODE_IMAGE=node:20-bookworm-slim

# The workspace manifests alone, so that the dependency layers are reused until one of them changes.
FROM ${NODE_IMAGE} AS manifests
# argon2 (password hashing) compiles itself when its prebuilt binary does not load: this Node 20.20
# crashed loading argon2 0.45's linux-x64 glibc prebuild. The compilers stay out of the runtime stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/device-sdk/package.json packages/device-sdk/
COPY packages/api-client/package.json packages/api-client/
COPY apps/server/package.json apps/server/
COPY apps/web/package.json apps/web/

# Build: every dependency, then the server, the packages it imports, the PGlite template and the web app.
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# The server's production dependencies, installed apart from the build's (no compilers, test tools or Vite).
FROM manifests AS deps
RUN npm ci --omit=dev --no-audit --no-fund --workspace @tether/server

FROM ${NODE_IMAGE} AS runtime
# `tether backup` / `tether restore` on PostgreSQL run pg_dump and pg_restore, which must be at least
# the server's major version: PostgreSQL's own Debian repository (pgdg) has the newest, and 17 reads
# servers 9.2 to 17. PG_CLIENT_FROM=debian takes the base image's own (bookworm: 15) instead.
ARG PG_CLIENT_MAJOR=17
ARG PG_CLIENT_FROM=pgdg
RUN apt-get update \
 && if [ "$PG_CLIENT_FROM" = pgdg ]; then \
      apt-get install -y --no-install-recommends ca-certificates postgresql-common \
      && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
    fi \
 && apt-get install -y --no-install-recommends postgresql-client-${PG_CLIENT_MAJOR} \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /src/package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/packages/contracts/package.json packages/contracts/
COPY --from=build /src/packages/contracts/dist packages/contracts/dist
COPY --from=build /src/packages/device-sdk/package.json packages/device-sdk/
COPY --from=build /src/packages/device-sdk/dist packages/device-sdk/dist
COPY --from=build /src/packages/api-client/package.json packages/api-client/
COPY --from=build /src/packages/api-client/dist packages/api-client/dist
COPY --from=build /src/apps/server/package.json apps/server/
COPY --from=build /src/apps/server/dist apps/server/dist
COPY --from=build /src/apps/server/migrations apps/server/migrations
COPY --from=build /src/apps/server/assets apps/server/assets
COPY --from=build /src/apps/web/dist apps/web/dist
# The image's `node` user (uid 1000) owns the data dir; the application files stay root's, read-only to it.
RUN mkdir /data && chown node:node /data
USER node
# The young-generation size `npm start` gives Node (README, Performance).
ENV TETHER_DATA_DIR=/data \
    NODE_OPTIONS=--max-semi-space-size=64
VOLUME ["/data"]
# HTTP (web, REST, live WebSocket, MQTT over WebSocket), MQTT, MQTT over TLS (with TETHER_TLS_CERT).
EXPOSE 8080 1883 8883
# /readyz is 200 while the database, the broker and the bus are reachable. With TETHER_TLS_CERT the
# HTTP port speaks HTTPS, with a certificate for the public name, not for 127.0.0.1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const tls = !!process.env.TETHER_TLS_CERT; require(tls ? 'node:https' : 'node:http').get({ host: '127.0.0.1', port: process.env.TETHER_HTTP_PORT || 8080, path: '/readyz', rejectUnauthorized: false, timeout: 4000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["node", "apps/server/dist/cli/index.js"]
CMD ["start"]
