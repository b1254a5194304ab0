# syntax=docker/dockerfile:1
# drc in a container: the CLI with the strategy plugins chosen at build time, for the Helm chart (deploy/helm/drc).
#   docker build --build-arg PLUGINS="archived unused" -t drc .
# Plugins come from this workspace (linked) unless NPM_REGISTRY is set: then `drc plugins install` fetches
# @drc/plugin-<name> from that registry.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

FROM ${NODE_IMAGE}
ARG PLUGINS="archived unused"
ARG NPM_REGISTRY=""
# oclif's data dir (the plugin list) is written here at build time and only read at run time; the cache and state
# dirs, HOME and the reports live on the writable volumes the chart mounts (/tmp, /data/reports), so the root
# filesystem can be read-only.
ENV NODE_ENV=production \
    XDG_DATA_HOME=/opt/drc/data \
    XDG_CONFIG_HOME=/opt/drc/config \
    XDG_CACHE_HOME=/tmp/cache \
    XDG_STATE_HOME=/tmp/state \
    HOME=/tmp \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /opt/drc

# Manifests first: the dependency layer is rebuilt only when a package.json or the lock file changes.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY plugins/archived/package.json plugins/archived/
COPY plugins/unused/package.json plugins/unused/
COPY plugins/deactivated/package.json plugins/deactivated/
COPY plugins/references/package.json plugins/references/
COPY examples/old-revisions/package.json examples/old-revisions/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY --from=build /src/bin ./bin
# The command manifest `npm run build` wrote: oclif then imports only the command it runs.
COPY --from=build /src/oclif.manifest.json ./
COPY --from=build /src/dist ./dist
COPY --from=build /src/packages/core/dist ./packages/core/dist
COPY --from=build /src/plugins ./plugins

# The chosen plugins (linked from the workspace or installed from NPM_REGISTRY), the others removed.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN ln -s /opt/drc/bin/run.js /usr/local/bin/drc \
 && for p in ${PLUGINS}; do \
      if [ -n "${NPM_REGISTRY}" ]; then \
        npm_config_registry="${NPM_REGISTRY}" drc plugins install "@drc/plugin-${p}"; \
      else \
        drc plugins link --no-install "/opt/drc/plugins/${p}"; \
      fi; \
    done \
 && for d in plugins/*/; do \
      n="$(basename "$d")"; \
      if [[ " ${PLUGINS} " != *" ${n} "* ]] || [ -n "${NPM_REGISTRY}" ]; then rm -rf "$d"; fi; \
    done \
 && rm -rf plugins/*/src plugins/*/test /tmp/* \
 && drc plugins \
 && mkdir -p /data/reports && chown 10001:10001 /data/reports

# The chart's securityContext runs as 10001 too (runAsNonRoot needs a numeric user).
USER 10001:10001
VOLUME ["/tmp", "/data/reports"]
ENTRYPOINT ["drc"]
CMD ["--help"]
