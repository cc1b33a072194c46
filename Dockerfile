# One image for both of Steerer's processes:
#   controller (default):  docker run IMAGE
#   webhook:               docker run IMAGE webhook/dist/main.js
# Build from the repository root and push it where your cluster pulls from, e.g.
#   docker build -t REGISTRY/steerer:0.1.0 . && docker push REGISTRY/steerer:0.1.0
# then install the chart with --set image.repository=REGISTRY/steerer --set image.tag=0.1.0.
ARG NODE_IMAGE=node:24-slim

# 1. Compile the TypeScript workspaces.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY certs/package.json certs/
COPY controller/package.json controller/
COPY webhook/package.json webhook/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY common common
COPY certs certs
COPY controller controller
COPY webhook webhook
RUN npx tsc -b controller webhook \
 && find common certs controller webhook -path '*/dist/*' \( -name '*.test.*' -o -name 'testing.*' -o -path '*/testing/*' \) -delete

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY certs/package.json certs/
COPY controller/package.json controller/
COPY webhook/package.json webhook/
COPY test/package.json test/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The runtime: compiled output and production dependencies, run as a non-root user.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/common/package.json common/
COPY --from=build /src/common/dist common/dist
COPY --from=build /src/certs/package.json certs/
COPY --from=build /src/certs/dist certs/dist
COPY --from=build /src/controller/package.json controller/
COPY --from=build /src/controller/dist controller/dist
COPY --from=build /src/webhook/package.json webhook/
COPY --from=build /src/webhook/dist webhook/dist
# The image's "node" user; numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080 8443
ENTRYPOINT ["node"]
CMD ["controller/dist/main.js"]
