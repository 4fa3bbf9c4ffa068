// docker-compose.yml: images pinned (to the natively tested versions), healthchecks, depends_on
// conditions, ports on 127.0.0.1, Grafana on 3001, limits, retention, hardening, and every
// knob documented in .env.example. Each check is also fed a broken copy and must complain.
// (No Docker engine here: Compose's own loader, compose-go in compose-check, resolves the file.)

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import {
  checkAlertmanagerFiles,
  checkBindMounts,
  checkFirstStart,
  checkGrafanaOffline,
  checkNoHostUser,
  checkDependsOn,
  checkGrafanaPort,
  checkHardening,
  checkHealthchecks,
  bindMountsOf,
  checkConditionsWritten,
  checkHostAccess,
  HOST_ACCESS,
  checkImages,
  checkLifecycleAndRetention,
  checkPorts,
  checkResources,
  checkVolumes,
  configuredEnv,
  environment,
  loadCompose,
  NO_HEALTHCHECK,
  repoComposeFixture,
  ROOT_ONE_SHOTS,
  type ComposeFile,
  type Obj,
} from '../lib/compose.ts';
import { assertReports } from '../lib/reports.ts';

const COMPOSE_TEXT = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const EXAMPLE_ENV = parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
const ENV = configuredEnv();
const load = (text = COMPOSE_TEXT, env = ENV): ComposeFile => loadCompose(text, env);

/** A copy of the compose text with one edit; fails loudly if the edit no longer applies. */
function broken(from: string | RegExp, to: string, text = COMPOSE_TEXT): ComposeFile {
  const out = text.replace(from, to);
  assert.notEqual(out, text, `the broken copy's edit did not apply: ${String(from)}`);
  return load(out);
}

/** A whole edited copy of the compose text. */
function brokenText(text: string): ComposeFile {
  assert.notEqual(text, COMPOSE_TEXT, "the broken copy's edit did not apply");
  return load(text);
}

const makefile = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
const waitTimeoutS = Number(/^WAIT_TIMEOUT \?= (\d+)$/m.exec(makefile)?.[1]);
// Grafana 13's first start migrates an empty database: about a minute on a slow disk.
const GRAFANA_FIRST_START_S = 120;
const SECRET_FOLDERS = ['./alertmanager/generated'];

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  it('has the stack services, the local alert receiver and the Python example', () => {
    assert.deepEqual(Object.keys(f.compose.services).sort(), [
      'alert-receiver',
      'alertmanager',
      'alertmanager-config',
      'app',
      'blackbox-exporter',
      'container-events',
      'container-exporter',
      'grafana',
      'jaeger',
      'node-exporter',
      'otel-collector',
      'prometheus',
      'python-agent',
      'victorialogs',
    ]);
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('images', () => {
    it('every service has an image pinned to an exact version, or a build', () => {
      assert.deepEqual(checkImages(f.compose), []);
    });
    it('reports a floating tag and a missing image', () => {
      assertReports(
        checkImages(
          broken(
            'otel/opentelemetry-collector-contrib:0.161.0',
            'otel/opentelemetry-collector-contrib:latest',
          ),
        ),
        /otel-collector: image .* not pinned/,
      );
      assertReports(
        checkImages(broken('prom/prometheus:v3.16.0', 'prom/prometheus')),
        /prometheus: image .* not pinned/,
      );
      assert.throws(
        () => broken(/^ {4}image: jaegertracing.*$/m, ''),
        /"jaeger" has neither an image nor a build context/,
      );
    });

    it('builds the app from app/ (its Dockerfile), tagged with the service version', () => {
      const build = f.compose.services.app.build as { context?: string };
      assert.equal(build.context, './app');
      const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'app/package.json'), 'utf8')) as {
        version: string;
      };
      assert.equal(f.compose.services.app.image, `agent-observability/app:${version}`);
    });
  });
});

/** Broken depends_on: Compose's loader refuses a missing service, an unknown condition and a
 * cycle itself; the checks here, a bare dependency and a wait that cannot end. */
function reportsBrokenDependencies(): void {
  assert.throws(
    () =>
      broken(
        '      alert-receiver:\n        condition: service_healthy',
        '      alert-reciever:\n        condition: service_healthy',
      ),
    /"alertmanager" depends on undefined service "alert-reciever"/,
  );
  assert.throws(
    () => broken('condition: service_started', 'condition: started'),
    /depends_on.otel-collector.condition value must be one of/,
  );
  assertReports(
    checkConditionsWritten(
      COMPOSE_TEXT.replace(
        '      otel-collector:\n        condition: service_started\n',
        '      otel-collector: {}\n',
      ),
    ),
    /app: dependency "otel-collector" names no condition/,
  );
  assertReports(
    checkDependsOn(
      broken(
        'otel-collector:\n        condition: service_started',
        'otel-collector:\n        condition: service_healthy',
      ),
    ),
    /app: waits for "otel-collector" to be healthy, but otel-collector has no healthcheck/,
  );
  const cyclic = COMPOSE_TEXT.replace(
    /( {2}alert-receiver:\n(?: {4}.*\n)*? {4}image: .*\n)/,
    '$1    depends_on:\n      prometheus:\n        condition: service_healthy\n',
  );
  assert.throws(() => brokenText(cyclic), /dependency cycle detected/);
}

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('healthchecks and start order', () => {
    it('every service whose image can run a probe has a healthcheck', () => {
      assert.deepEqual(checkHealthchecks(f.compose), []);
      for (const [name, why] of Object.entries(NO_HEALTHCHECK))
        console.log(`      ${name}: no healthcheck, ${why}`);
    });
    it('reports a service without one', () => {
      const text = COMPOSE_TEXT.replace(
        /( {2}alert-receiver:[\s\S]*?) {4}healthcheck:\n(?: {6}.*\n)+/,
        '$1',
      );
      assertReports(checkHealthchecks(brokenText(text)), /alert-receiver: no healthcheck/);
    });

    it('depends_on: every dependency exists, has a condition, and can become healthy', () => {
      assert.deepEqual(checkDependsOn(f.compose), []);
      assert.deepEqual(checkConditionsWritten(COMPOSE_TEXT), []);
    });
    it('the app waits for the Collector with service_started (no healthcheck possible there)', () => {
      assert.deepEqual(f.compose.services.app.depends_on, {
        'otel-collector': { condition: 'service_started', required: true },
      });
    });
    it(
      'reports a missing dependency, a missing condition, an impossible wait and a cycle',
      reportsBrokenDependencies,
    );
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('ports', () => {
    it('every published port is bound to 127.0.0.1, with a fixed host port, none twice', () => {
      assert.deepEqual(checkPorts(f.compose), []);
    });
    it('reports a port open to every interface and a duplicate host port', () => {
      assertReports(
        checkPorts(
          broken('"127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"', '"${PROMETHEUS_PORT:-9090}:9090"'),
        ),
        /prometheus: port 9090->9090 is not bound to 127.0.0.1/,
      );
      assertReports(
        checkPorts(broken('"127.0.0.1:${JAEGER_PORT:-16686}:16686"', '"127.0.0.1:9090:16686"')),
        /host port 9090 is also published/,
      );
    });

    it('Grafana is on http://localhost:3001', () => {
      assert.deepEqual(checkGrafanaPort(f.compose), []);
    });
    it('reports Grafana on another port', () => {
      assertReports(
        checkGrafanaPort(broken('${GRAFANA_PORT:-3001}:3000', '3000:3000')),
        /grafana: not published on 127.0.0.1:3001/,
      );
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('resources, lifecycle, retention, data', () => {
    it('every service has a memory limit; the Go programs have GOMEMLIMIT ≈ 80 % of it', () => {
      assert.deepEqual(checkResources(f.compose), []);
    });
    it('reports a missing limit and a GOMEMLIMIT far from 80 %', () => {
      assertReports(
        checkResources(
          broken(
            /(alert-receiver:[\s\S]*?)deploy:\n {6}resources:\n {8}limits:\n {10}memory: 128M\n/,
            '$1',
          ),
        ),
        /alert-receiver: no memory limit/,
      );
      assertReports(
        checkResources(broken('GOMEMLIMIT: 204MiB', 'GOMEMLIMIT: 250MiB')),
        /otel-collector: GOMEMLIMIT is 98 %/,
      );
    });

    it("the app's stop_grace_period exceeds its shutdown grace; Prometheus keeps ≥ 31 d and exemplars", () => {
      assert.deepEqual(checkLifecycleAndRetention(f.compose), []);
    });
    it('reports a short stop grace, a short retention and missing exemplar storage', () => {
      assertReports(
        checkLifecycleAndRetention(broken('stop_grace_period: 15s', 'stop_grace_period: 10s')),
        /stop_grace_period .* must exceed SHUTDOWN_GRACE_MS/,
      );
      assertReports(
        checkLifecycleAndRetention(broken('retention.time=31d', 'retention.time=15d')),
        /retention "15d" is shorter than 31d/,
      );
      assertReports(
        checkLifecycleAndRetention(
          broken(
            '--enable-feature=exemplar-storage',
            '--enable-feature=memory-snapshot-on-shutdown',
          ),
        ),
        /exemplar storage is not enabled/,
      );
    });

    const dataVolumes = { prometheus: '/prometheus', grafana: '/var/lib/grafana', app: '/data' };
    it('Prometheus, Grafana and app data live on named volumes', () => {
      assert.deepEqual(checkVolumes(f.compose, dataVolumes), []);
    });
    it('reports data on a bind mount or an undeclared volume', () => {
      assertReports(
        checkVolumes(broken('prometheus-data:/prometheus', './data:/prometheus'), dataVolumes),
        /prometheus: \/prometheus is not on a named volume/,
      );
      assert.throws(
        () => broken(/^ {2}grafana-data:\n/m, ''),
        /"grafana" refers to undefined volume grafana-data/,
      );
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('security', () => {
    it('no capabilities, no privilege gain, read-only roots (Grafana excepted, with reason), no root user', () => {
      assert.deepEqual(checkHardening(f.compose), []);
    });
    it('reports a service that keeps capabilities, a writable root and a root user', () => {
      const text = COMPOSE_TEXT.replace(
        'x-hardening: &hardening\n  cap_drop: [ALL]\n',
        'x-hardening: &hardening\n',
      );
      assertReports(checkHardening(brokenText(text)), /app: does not drop all capabilities/);
      assertReports(
        checkHardening(broken(/(jaeger:\n {4}<<: .*\n) {4}read_only: true\n/, '$1')),
        /jaeger: root filesystem is not read_only/,
      );
      assertReports(
        checkHardening(broken('user: node', 'user: root')),
        /alert-receiver: runs as root/,
      );
    });

    it('has no default Grafana password: without .env the file does not even load', () => {
      assert.throws(
        () => load(COMPOSE_TEXT, EXAMPLE_ENV),
        /GRAFANA_ADMIN_PASSWORD is empty; run make configure/,
      );
    });

    it("gives the app the synthetic probe's key at the free tier, beside the configured keys", () => {
      const apiKeys = (env: [string, string][]) =>
        (load(COMPOSE_TEXT, new Map([...ENV, ...env])).services.app.environment as Obj).API_KEYS;
      const probe = 'probe-Zq7vK2pX9mR4tW8n';
      assert.equal(apiKeys([['PROBE_API_KEY', probe]]), `${probe}:free`);
      assert.equal(
        apiKeys([
          ['PROBE_API_KEY', probe],
          ['API_KEYS', 'k1:free,k2:pro'],
        ]),
        `${probe}:free,k1:free,k2:pro`,
      );
      // DEMO_MODE without `make configure`: no key at all, the demo keys (the probe's too).
      assert.equal(apiKeys([]), '');
    });

    it('every image compose builds runs as a non-root user (its Dockerfile USER)', () => {
      const contexts = Object.values(f.compose.services).flatMap(({ build }) =>
        build ? [(build as { context: string }).context] : [],
      );
      assert.deepEqual(contexts.sort(), ['./app', './examples/python-agent', './grafana/image']);
      for (const context of contexts) {
        const dockerfile = join(REPO_ROOT, context, 'Dockerfile');
        const users = [...readFileSync(dockerfile, 'utf8').matchAll(/^USER\s+(\S+)/gm)].map(
          (m) => m[1],
        );
        assert.ok(users.length > 0, `${dockerfile} sets no USER`);
        assert.ok(
          !/^(0|root)(:|$)/.test(users.at(-1) as string),
          `${context} runs as ${users.at(-1)}`,
        );
      }
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('first start on any Docker host (rootless, Desktop, SELinux, umask 077)', () => {
    it('make up waits with a timeout that outlasts every health window; Grafana has a long start_period', () => {
      assert.match(makefile, /up --detach --build --wait --wait-timeout \$\(WAIT_TIMEOUT\)/);
      assert.deepEqual(checkFirstStart(f.compose, waitTimeoutS, GRAFANA_FIRST_START_S), []);
    });
    it('reports a short Grafana start_period and a health window longer than the wait', () => {
      assertReports(
        checkFirstStart(broken('start_period: 180s', 'start_period: 30s'), 300, 120),
        /grafana: start_period 30 s is shorter than a first start/,
      );
      assertReports(
        checkFirstStart(f.compose, 100, 120),
        /grafana: health window 230 s is not shorter than WAIT_TIMEOUT 100 s/,
      );
    });

    it('bind mounts are read-only, labelled z, and never carry secrets to a long-running service', () => {
      assert.deepEqual(checkBindMounts(f.compose, SECRET_FOLDERS), []);
    });
    it('reports a mount without z, a writable one, and secrets bind-mounted into Alertmanager', () => {
      assertReports(
        checkBindMounts(broken('./jaeger:/etc/jaeger:ro,z', './jaeger:/etc/jaeger:ro'), []),
        /jaeger: .\/jaeger has no "z"/,
      );
      assertReports(
        checkBindMounts(
          broken('./prometheus:/etc/prometheus:ro,z', './prometheus:/etc/prometheus:z'),
          [],
        ),
        /prometheus: .\/prometheus is mounted writable/,
      );
      const leaked = broken(
        '      - alertmanager-config:/etc/alertmanager:ro\n',
        '      - ./alertmanager/generated/secrets:/etc/alertmanager/secrets:ro,z\n',
      );
      assertReports(checkBindMounts(leaked, SECRET_FOLDERS), /alertmanager: .* holds secrets/);
    });

    it('no service runs as the host user (HOST_UID breaks under rootless Docker)', () => {
      assert.deepEqual(checkNoHostUser(COMPOSE_TEXT), []);
      const text = COMPOSE_TEXT.replace(
        '    image: prom/alertmanager:v0.34.2\n',
        '    image: prom/alertmanager:v0.34.2\n    user: ${HOST_UID:-65534}\n',
      );
      assertReports(checkNoHostUser(text), /alertmanager: user .* comes from the host/);
    });

    it('Alertmanager keeps silences and notification log on a volume it can write; its config comes from the one-shot copy', () => {
      assert.deepEqual(checkAlertmanagerFiles(f.compose), []);
      for (const [name, { why }] of Object.entries(ROOT_ONE_SHOTS))
        console.log(`      ${name}: root for one run, ${why}`);
    });
  });
});

describe('docker-compose.yml', () => {
  repoComposeFixture();
  describe('first start on any Docker host (rootless, Desktop, SELinux, umask 077)', () => {
    it('reports silences on tmpfs, a changed user, and no one-shot copy before it', () => {
      assertReports(
        checkAlertmanagerFiles(
          broken(
            '      - alertmanager-data:/alertmanager\n',
            '    tmpfs:\n      - /alertmanager\n',
          ),
        ),
        /alertmanager: \/alertmanager is not on a named volume/,
      );
      assertReports(
        checkAlertmanagerFiles(
          broken(
            '    image: prom/alertmanager:v0.34.2\n',
            '    image: prom/alertmanager:v0.34.2\n    user: "1000"\n',
          ),
        ),
        /alertmanager: runs as "1000"/,
      );
      assertReports(
        checkAlertmanagerFiles(broken('chown -R 65534:65534 /out', 'chown -R 1000:1000 /out')),
        /does not hand the files to uid 65534/,
      );
      assertReports(
        checkAlertmanagerFiles(
          broken('condition: service_completed_successfully', 'condition: service_started'),
        ),
        /does not wait for alertmanager-config/,
      );
    });
    it('the one-shot may be root only without a network and never restarted; nothing else adds capabilities', () => {
      assertReports(
        checkHardening(broken('    network_mode: none\n', '')),
        /alertmanager-config: runs as root with a network/,
      );
      assertReports(
        checkHardening(
          broken('cap_add: [CHOWN, DAC_OVERRIDE]', 'cap_add: [CHOWN, DAC_OVERRIDE, SYS_ADMIN]'),
        ),
        /alertmanager-config: adds capabilities SYS_ADMIN/,
      );
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('the host-metrics profile', () => {
    it('only the host-metrics profile reaches into the host, each privilege with its reason', () => {
      assert.deepEqual(checkHostAccess(f.compose), []);
      for (const [name, access] of Object.entries(HOST_ACCESS)) {
        const reasons = [...Object.entries(access.mounts).map(([p, why]) => `${p}: ${why}`)];
        if (access.pidHost) reasons.push(`pid: host: ${access.pidHost}`);
        if (access.root) reasons.push(`root: ${access.root}`);
        reasons.push(`label=disable: ${access.noSelinuxLabel}`);
        console.log(`      ${name}: ${reasons.join('; ')}`);
      }
    });
    it('reports a writable or relabelled host mount, an unlisted one, and a profile left out', () => {
      assertReports(
        checkHostAccess(broken('- /:/host:ro', '- /:/host:rw')),
        /node-exporter: host path \/ is mounted writable/,
      );
      assertReports(
        checkHostAccess(broken('- /:/host:ro', '- /:/host:ro,z')),
        /node-exporter: host path \/ carries "z"/,
      );
      assertReports(
        checkHostAccess(broken('- ./jaeger:/etc/jaeger:ro,z', '- /etc:/etc/jaeger:ro')),
        /jaeger: host path \/etc is mounted without a listed reason/,
      );
      assertReports(
        checkHostAccess(
          broken(/(node-exporter:\n(?: {4}.*\n)*?) {4}profiles: \[host-metrics\]\n/, '$1'),
        ),
        /node-exporter: not in profile host-metrics/,
      );
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('nothing phones home at run time', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'grafana/image/Dockerfile'), 'utf8');
    it('Grafana: plugins pinned in its image, no preinstall, no key download, no analytics', () => {
      assert.deepEqual(checkGrafanaOffline(f.compose, dockerfile), []);
    });
    it('reports preinstall on, a plugin without a version, and a base image other than the tag', () => {
      assertReports(
        checkGrafanaOffline(
          broken(
            'GF_PLUGINS_PREINSTALL_DISABLED: "true"',
            'GF_PLUGINS_PREINSTALL_DISABLED: "false"',
          ),
          dockerfile,
        ),
        /GF_PLUGINS_PREINSTALL_DISABLED is "false"/,
      );
      assertReports(
        checkGrafanaOffline(f.compose, dockerfile.replace(/jaeger@[\d.]+/, 'jaeger')),
        /plugin "jaeger" is not id@x.y.z/,
      );
      assertReports(
        checkGrafanaOffline(
          f.compose,
          dockerfile.replace('grafana/grafana:13.3.0', 'grafana/grafana:13.2.0'),
        ),
        /Dockerfile base grafana\/grafana:13.2.0 differs from tag "13.3.0"/,
      );
    });
    it("the provisioned datasources are Grafana's own or installed in the image", () => {
      const text = readFileSync(
        join(REPO_ROOT, 'grafana/provisioning/datasources/datasources.yml'),
        'utf8',
      );
      const types = [...text.matchAll(/^\s+type: (\S+)$/gm)].map((m) => m[1]);
      // Built into Grafana 13 (not in its list of external preinstalled plugins).
      const core = new Set(['prometheus', 'alertmanager']);
      const plugins = /^ARG GRAFANA_PLUGINS="([^"]*)"$/m.exec(dockerfile)?.[1] ?? '';
      const baked = new Set(plugins.split(/\s+/).map((p) => p.split('@')[0]));
      assert.deepEqual(
        types.filter((t) => !core.has(t) && !baked.has(t)),
        [],
      );
    });
  });
});

describe('docker-compose.yml', () => {
  const f = repoComposeFixture();
  describe('settings and files', () => {
    it('every ${VAR} the file uses is documented in .env.example', () => {
      const missing = Object.keys(f.compose.variables).filter((v) => !EXAMPLE_ENV.has(v));
      assert.deepEqual(missing, []);
    });
    // The loader the tests use is Compose's: values from the env file as given ($ included).
    it('interpolates like Compose ($$, defaults, required variables)', () => {
      const env = new Map([
        ['A', 'a'],
        ['EMPTY', ''],
        ['COST', 'cost $5 # not a comment'],
      ]);
      const value = (text: string) =>
        environment(
          load(`services:\n  t:\n    image: x:1.0.0\n    environment:\n      V: "${text}"\n`, env)
            .services.t,
        ).V;
      assert.equal(value('$${A}-${A}-${B:-b}-${EMPTY:-e}-${EMPTY-e}-$A'), '${A}-a-b-e--a');
      assert.equal(value('${COST}'), 'cost $5 # not a comment');
      assert.throws(() => value('${B:?set B}'), /required variable B is missing a value: set B/);
      // A `$` before no name stays as written; an unclosed `${` is refused.
      assert.equal(value('cost $5'), 'cost $5');
      assert.throws(() => value('cost ${A'), /invalid interpolation format/);
    });

    it('every bind-mounted file or folder exists (alertmanager/generated/ comes from make configure)', () => {
      const missing: string[] = [];
      for (const { service, source } of bindMountsOf(f.compose)) {
        if (!source.startsWith('./') || /^\.\/alertmanager\/generated(\/|$)/.test(source)) continue;
        if (!existsSync(join(REPO_ROOT, source))) missing.push(`${service}: ${source}`);
      }
      assert.deepEqual(missing, []);
    });

    it("Grafana's home dashboard is a generated dashboard, seen through its mount", () => {
      const grafana = f.compose.services.grafana;
      const home = String(
        (grafana.environment as Record<string, unknown>).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH,
      );
      const mount = (grafana.volumes as { source: string; target: string }[])
        .filter(({ target }) => home.startsWith(`${target}/`))
        // The innermost mount wins (grafana-data is mounted at /var/lib/grafana too).
        .sort((a, b) => b.target.length - a.target.length)[0];
      assert.ok(mount, `${home} is under no mounted folder`);
      const { source, target } = mount;
      assert.ok(
        existsSync(join(REPO_ROOT, source, home.slice(target.length))),
        `${home} does not exist`,
      );
    });
  });
});
