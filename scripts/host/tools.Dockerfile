# The tools image: Node 24 (the same image the app is built from) plus the runtime packages of
# the repo's scripts (package.json "dependencies"), so that `make configure`, `make load`,
# `make alert-*` and the other stack targets need nothing but Docker on the host.
# scripts/host/tools.sh builds it (tagged by a checksum of package-lock.json and this file) and
# runs a script in it with the clone mounted at /work/repo; Node finds the packages in
# /work/node_modules, one folder up. See docs/decisions/0005-tooling-without-host-node.md.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /work
COPY package.json package-lock.json ./
# No install scripts: the `node` devDependency is not installed (--omit=dev), and the runtime
# packages have none.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
USER node
