# The reins image docker-compose.yml runs: the CLI built from this repository, with the demo fleet's agents,
# ioredis, prom-client and the OpenTelemetry SDK (development dependencies here) installed.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build
ENTRYPOINT ["node", "dist/cli/main.js"]
