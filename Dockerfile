# One image for both parts: the API (default command) and the worker (`npm run start:worker`).
#   docker build -t wes-server .
#   docker-compose up --scale worker=3
FROM docker.io/library/node:24.11.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM docker.io/library/node:24.11.1-bookworm-slim
# cwltool runs the workflows, each in a bubblewrap sandbox (WES_SANDBOX=bwrap). As the
# unprivileged user below, bwrap makes a user namespace per run: docker-compose.yml says what the
# worker's container needs for that. --no-install-recommends: cwltool recommends Debian's
# nodejs, but this image's Node.js (first on PATH, under /usr/local) serves CWL JavaScript.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cwltool bubblewrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    WES_DATA_DIR=/data/store \
    WES_WORK_DIR=/data/work
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY openapi ./openapi
COPY examples ./examples
# Created here, owned by the unprivileged user, so named volumes mounted on them start writable.
RUN mkdir -p /data/store /data/work && chown -R node:node /data
USER node
EXPOSE 8080
# The API's readiness (Redis and the object store answer); with node, as the image has no curl.
# A worker's container probes its own listener instead (docker-compose.yml: WES_WORKER_HTTP_PORT).
HEALTHCHECK --interval=10s --timeout=5s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WES_PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["npm", "run", "start:api"]
