# One image for all six services; docker-compose.yml picks the service with `command:`.
#   docker build -t ragmesh .
#   docker run --rm ragmesh dist/apps/retrieval/src/main.js
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json tsconfig.json ./
COPY proto ./proto
COPY libs ./libs
COPY apps ./apps
COPY tools ./tools
RUN npx tsc -p tsconfig.build.json

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund) && npm cache clean --force
COPY --from=build /app/dist ./dist
# The services load the .proto files at run time (protoPath walks up to proto/).
COPY proto ./proto
COPY scripts/register-paths.js ./scripts/register-paths.js
USER node
# register-paths maps @ragmesh/<lib> to dist/libs/<lib>/src/index.js.
ENTRYPOINT ["node", "-r", "./scripts/register-paths.js"]
CMD ["dist/apps/gateway/src/main.js"]
