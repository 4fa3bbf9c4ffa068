// docker-compose.yml: images pinned (to the natively tested versions), healthchecks, depends_on
// conditions, ports on 127.0.0.1, Grafana on 3001, limits, retention, hardening, and every
// knob documented in .env.example. Each check is also fed a broken copy and must complain.
// (No Docker engine here: the file is parsed and interpolated the way Compose does it.)

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from '../../scripts/lib/env-file.ts';
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
  checkHostAccess,
  HOST_ACCESS,
  checkImages,
  checkLifecycleAndRetention,
  checkPorts,
  checkResources,
  checkVolumes,
  interpolate,
  loadCompose,
  NO_HEALTHCHECK,
  referencedVariables,
  ROOT_ONE_SHOTS,
  type ComposeFile,
} from '../lib/compose.ts';
import { REPO } from '../lib/repo.ts';
import { assertReports } from '../lib/reports.ts';

const COMPOSE_TEXT = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
const EXAMPLE_ENV = parseEnv(readFileSync(join(REPO, '.env.example'), 'utf8'));
// What `make configure` produces: the example with its secrets filled in.
const ENV = new Map([...EXAMPLE_ENV, ['GRAFANA_ADMIN_PASSWORD', 'test-password']]);
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

const compose = load();
const makefile = readFileSync(join(REPO, 'Makefile'), 'utf8');
const waitTimeoutS = Number(/^WAIT_TIMEOUT \?= (\d+)$/m.exec(makefile)?.[1]);
// Grafana 13's first start migrates an empty database: about a minute on a slow disk.
const GRAFANA_FIRST_START_S = 120;
const SECRET_FOLDERS = ['./alertmanager/generated'];

describe('docker-compose.yml', () => {
  it('has the stack services, the local alert receiver and the Python example', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'alert-receiver',
      'alertmanager',
      'alertmanager-config',
      'app',
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
  describe('images', () => {
    it('every service has an image pinned to an exact version, or a build', () => {
      assert.deepEqual(checkImages(compose), []);
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
      assertReports(
        checkImages(broken(/^ {4}image: jaegertracing.*$/m, '')),
        /jaeger: neither an image nor a build/,
      );
    });

    it('builds the app from app/ (its Dockerfile), tagged with the service version', () => {
      const build = compose.services.app.build as { context?: string };
      assert.equal(build.context, './app');
      const { version } = JSON.parse(readFileSync(join(REPO, 'app/package.json'), 'utf8')) as {
        version: string;
      };
      assert.equal(compose.services.app.image, `agent-observability/app:${version}`);
    });
  });
});

describe('docker-compose.yml', () => {
  describe('healthchecks and start order', () => {
    it('every service whose image can run a probe has a healthcheck', () => {
      assert.deepEqual(checkHealthchecks(compose), []);
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
      assert.deepEqual(checkDependsOn(compose), []);
    });
    it('the app waits for the Collector with service_started (no healthcheck possible there)', () => {
      assert.deepEqual(compose.services.app.depends_on, {
        'otel-collector': { condition: 'service_started' },
      });
    });
    it('reports a missing dependency, a missing condition, an impossible wait and a cycle', () => {
      assertReports(
        checkDependsOn(
          broken(
            '      alert-receiver:\n        condition: service_healthy',
            '      alert-reciever:\n        condition: service_healthy',
          ),
        ),
        /alertmanager: depends on "alert-reciever", which is not a service/,
      );
      assertReports(
        checkDependsOn(broken('condition: service_started', 'condition: started')),
        /app: dependency "otel-collector" has no valid condition/,
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
      assertReports(checkDependsOn(brokenText(cyclic)), /depends_on cycle/);
    });
  });
});

describe('docker-compose.yml', () => {
  describe('ports', () => {
    it('every published port is bound to 127.0.0.1, with a fixed host port, none twice', () => {
      assert.deepEqual(checkPorts(compose), []);
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
      assert.deepEqual(checkGrafanaPort(compose), []);
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
  describe('resources, lifecycle, retention, data', () => {
    it('every service has a memory limit; the Go programs have GOMEMLIMIT ≈ 80 % of it', () => {
      assert.deepEqual(checkResources(compose), []);
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
      assert.deepEqual(checkLifecycleAndRetention(compose), []);
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
      assert.deepEqual(checkVolumes(compose, dataVolumes), []);
    });
    it('reports data on a bind mount or an undeclared volume', () => {
      assertReports(
        checkVolumes(broken('prometheus-data:/prometheus', './data:/prometheus'), dataVolumes),
        /prometheus: \/prometheus is not on a named volume/,
      );
      assertReports(
        checkVolumes(broken(/^ {2}grafana-data:\n/m, ''), dataVolumes),
        /volume "grafana-data" is not declared/,
      );
    });
  });
});

describe('docker-compose.yml', () => {
  describe('security', () => {
    it('no capabilities, no privilege gain, read-only roots (Grafana excepted, with reason), no root user', () => {
      assert.deepEqual(checkHardening(compose), []);
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

    it('every image compose builds runs as a non-root user (its Dockerfile USER)', () => {
      const contexts = Object.values(compose.services).flatMap(({ build }) =>
        build ? [(build as { context: string }).context] : [],
      );
      assert.deepEqual(contexts.sort(), ['./app', './examples/python-agent', './grafana/image']);
      for (const context of contexts) {
        const dockerfile = join(REPO, context, 'Dockerfile');
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
  describe('first start on any Docker host (rootless, Desktop, SELinux, umask 077)', () => {
    it('make up waits with a timeout that outlasts every health window; Grafana has a long start_period', () => {
      assert.match(makefile, /up --detach --build --wait --wait-timeout \$\(WAIT_TIMEOUT\)/);
      assert.deepEqual(checkFirstStart(compose, waitTimeoutS, GRAFANA_FIRST_START_S), []);
    });
    it('reports a short Grafana start_period and a health window longer than the wait', () => {
      assertReports(
        checkFirstStart(broken('start_period: 180s', 'start_period: 30s'), 300, 120),
        /grafana: start_period 30 s is shorter than a first start/,
      );
      assertReports(
        checkFirstStart(compose, 100, 120),
        /grafana: health window 230 s is not shorter than WAIT_TIMEOUT 100 s/,
      );
    });

    it('bind mounts are read-only, labelled z, and never carry secrets to a long-running service', () => {
      assert.deepEqual(checkBindMounts(compose, SECRET_FOLDERS), []);
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
      assert.deepEqual(checkAlertmanagerFiles(compose), []);
      for (const [name, { why }] of Object.entries(ROOT_ONE_SHOTS))
        console.log(`      ${name}: root for one run, ${why}`);
    });
  });
});

describe('docker-compose.yml', () => {
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
  describe('the host-metrics profile', () => {
    it('only the host-metrics profile reaches into the host, each privilege with its reason', () => {
      assert.deepEqual(checkHostAccess(compose), []);
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
  describe('nothing phones home at run time', () => {
    const dockerfile = readFileSync(join(REPO, 'grafana/image/Dockerfile'), 'utf8');
    it('Grafana: plugins pinned in its image, no preinstall, no key download, no analytics', () => {
      assert.deepEqual(checkGrafanaOffline(compose, dockerfile), []);
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
        checkGrafanaOffline(compose, dockerfile.replace(/jaeger@[\d.]+/, 'jaeger')),
        /plugin "jaeger" is not id@x.y.z/,
      );
      assertReports(
        checkGrafanaOffline(
          compose,
          dockerfile.replace('grafana/grafana:13.3.0', 'grafana/grafana:13.2.0'),
        ),
        /Dockerfile base grafana\/grafana:13.2.0 differs from tag "13.3.0"/,
      );
    });
    it("the provisioned datasources are Grafana's own or installed in the image", () => {
      const text = readFileSync(
        join(REPO, 'grafana/provisioning/datasources/datasources.yml'),
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
  describe('settings and files', () => {
    it('every ${VAR} the file uses is documented in .env.example', () => {
      const missing = [...referencedVariables(COMPOSE_TEXT)].filter((v) => !EXAMPLE_ENV.has(v));
      assert.deepEqual(missing, []);
    });
    it('interpolates like Compose ($$, defaults, required variables)', () => {
      const env = new Map([
        ['A', 'a'],
        ['EMPTY', ''],
      ]);
      assert.equal(
        interpolate('$${A}-${A}-${B:-b}-${EMPTY:-e}-${EMPTY-e}-$A', env),
        '${A}-a-b-e--a',
      );
      assert.throws(() => interpolate('${B:?set B}', env), /required variable B is missing: set B/);
      assert.throws(() => interpolate('cost $5', env), /a lone "\$" must be written "\$\$"/);
    });

    it('every bind-mounted file or folder exists (alertmanager/generated/ comes from make configure)', () => {
      const missing: string[] = [];
      for (const [name, svc] of Object.entries(compose.services)) {
        for (const m of (Array.isArray(svc.volumes) ? svc.volumes : []).map(String)) {
          const source = m.split(':')[0];
          if (!source.startsWith('./') || /^\.\/alertmanager\/generated(\/|$)/.test(source))
            continue;
          if (!existsSync(join(REPO, source))) missing.push(`${name}: ${source}`);
        }
      }
      assert.deepEqual(missing, []);
    });

    it("Grafana's home dashboard is a generated dashboard, seen through its mount", () => {
      const grafana = compose.services.grafana;
      const home = String(
        (grafana.environment as Record<string, unknown>).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH,
      );
      const mount = (grafana.volumes as string[])
        .map((m) => m.split(':'))
        .filter(([, target]) => home.startsWith(`${target}/`))
        // The innermost mount wins (grafana-data is mounted at /var/lib/grafana too).
        .sort(([, a], [, b]) => b.length - a.length)[0];
      assert.ok(mount, `${home} is under no mounted folder`);
      const [source, target] = mount;
      assert.ok(
        existsSync(join(REPO, source, home.slice(target.length))),
        `${home} does not exist`,
      );
    });
  });
});
