// Every port used in the configs matches docker-compose.yml: what the Collector and Jaeger listen
// on is what compose declares for them (and nothing compose declares is left without a
// listener); every service address in one config (Collector → Jaeger, Jaeger → Prometheus,
// app → Collector, Grafana datasources, Alertmanager webhooks, healthchecks) is a compose service
// on a port it declares. Broken copies must fail.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseEnv } from '../../scripts/lib/env-file.ts';
import { findAddresses } from '../lib/addresses.ts';
import { mergeConfigs, parseYamlMapping } from '../lib/collector.ts';
import { loadCompose, type ComposeFile, type Json, type Obj } from '../lib/compose.ts';
import {
  checkAppPort,
  checkListeners,
  checkReferences,
  composeReferences,
  listenAddresses,
  servicePorts,
} from '../lib/ports.ts';
import { REPO } from '../lib/repo.ts';
import { assertReports } from '../lib/reports.ts';

const COMPOSE_TEXT = readFileSync(join(REPO, 'docker-compose.yml'), 'utf8');
const ENV = new Map([
  ...parseEnv(readFileSync(join(REPO, '.env.example'), 'utf8')),
  ['GRAFANA_ADMIN_PASSWORD', 'x'],
]);
const COMPOSE = loadCompose(COMPOSE_TEXT, ENV);
const PORTS = servicePorts(COMPOSE);

const yaml = (rel: string) => parseYamlMapping(readFileSync(join(REPO, rel), 'utf8'), rel);
const COLLECTOR = mergeConfigs(
  yaml('otel-collector/config.yaml'),
  yaml('otel-collector/tail-sampling-on.yaml'),
  yaml('otel-collector/config-extras.yaml'),
);
const JAEGER = yaml('jaeger/config.yaml');

/** References to other services: every address that is not a listen address. */
function outbound(cfg: Obj) {
  const listens = new Set(listenAddresses(cfg).map((a) => a.path));
  return findAddresses(cfg as Json).filter((a) => !listens.has(a.path));
}

function checkAll(compose: ComposeFile, collector: Obj, jaeger: Obj): string[] {
  const ports = servicePorts(compose);
  return [
    ...checkListeners(collector, 'otel-collector', ports, 'otel-collector/config.yaml'),
    ...checkReferences(outbound(collector), ports, 'otel-collector', 'otel-collector/config.yaml'),
    ...checkListeners(jaeger, 'jaeger', ports, 'jaeger/config.yaml'),
    ...checkReferences(outbound(jaeger), ports, 'jaeger', 'jaeger/config.yaml'),
    ...checkAppPort(compose),
    ...composeReferences(compose).flatMap(({ service, addresses }) =>
      checkReferences(addresses, ports, service, `docker-compose.yml ${service}`),
    ),
  ];
}

describe('ports across the configs and docker-compose.yml', () => {
  it('Collector and Jaeger listen exactly on the ports compose declares; their outbound addresses exist', () => {
    assert.deepEqual(checkAll(COMPOSE, COLLECTOR, JAEGER), []);
  });

  it('reports a listener compose does not know, a declared port nobody listens on, and a wrong outbound port', () => {
    const collector = structuredClone(COLLECTOR) as Obj & {
      extensions: { health_check: { endpoint: string } };
    };
    collector.extensions.health_check.endpoint = '0.0.0.0:13134';
    const problems = checkAll(COMPOSE, collector, JAEGER);
    assertReports(problems, /otel-collector has no port 13134/);
    assertReports(
      problems,
      /declares port 13133, otel-collector\/config.yaml listens on none such/,
    );

    const toJaeger = structuredClone(COLLECTOR) as Obj & {
      exporters: Record<string, { endpoint: string }>;
    };
    toJaeger.exporters['otlp_grpc/jaeger'].endpoint = 'jaeger:4318';
    assertReports(checkAll(COMPOSE, toJaeger, JAEGER), /jaeger has no port 4318/);

    const noExpose = loadCompose(
      COMPOSE_TEXT.replace(
        'expose: ["4317", "8888", "13133", "16685"]',
        'expose: ["8888", "13133", "16685"]',
      ),
      ENV,
    );
    assertReports(
      checkAll(noExpose, COLLECTOR, JAEGER),
      /otel-collector\/config.yaml exporters.otlp_grpc\/jaeger.endpoint: jaeger has no port 4317/,
    );
  });

  it('reports an app PORT compose does not publish and an OTLP endpoint on a wrong port', () => {
    const text = COMPOSE_TEXT.replace('      PORT: 8000\n', '      PORT: 8080\n').replace(
      'http://otel-collector:4318',
      'http://otel-collector:4319',
    );
    const problems = checkAll(loadCompose(text, ENV), COLLECTOR, JAEGER);
    assertReports(problems, /app: PORT=8080 is not a port compose publishes/);
    assertReports(problems, /otel-collector has no port 4319/);
  });
});

describe('ports across the configs and docker-compose.yml', () => {
  it('Grafana datasources point at compose services on declared ports', function () {
    const dir = join(REPO, 'grafana/provisioning/datasources');
    if (!existsSync(dir)) {
      console.log('      grafana/provisioning/datasources does not exist yet: skipped');
      this.skip();
    }
    const problems: string[] = [];
    for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      const doc = YAML.parse(readFileSync(join(dir, f), 'utf8')) as {
        datasources?: { name: string; url?: string }[];
      };
      for (const ds of doc.datasources ?? []) {
        if (!ds.url) continue;
        const refs = findAddresses(ds.url, `${ds.name}.url`);
        problems.push(
          ...checkReferences(refs, PORTS, 'grafana', `grafana/provisioning/datasources/${f}`),
        );
      }
    }
    assert.deepEqual(problems, []);
  });

  it('Alertmanager webhooks to services in the stack use declared ports', function () {
    const file = join(REPO, 'alertmanager/alertmanager.yml');
    if (!existsSync(file)) {
      console.log('      alertmanager/alertmanager.yml does not exist yet: skipped');
      this.skip();
    }
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { receivers?: Obj[] };
    const urls = (doc.receivers ?? []).flatMap((r) =>
      (Array.isArray(r.webhook_configs) ? r.webhook_configs : []).flatMap((w) =>
        typeof (w as Obj).url === 'string' ? [String((w as Obj).url)] : [],
      ),
    );
    const refs = urls
      .flatMap((u) => findAddresses(u, 'webhook_configs.url'))
      .filter((a) => !a.host.includes('.'));
    assert.ok(
      refs.some((a) => a.host === 'alert-receiver'),
      'no webhook to the local alert-receiver',
    );
    assert.deepEqual(
      checkReferences(refs, PORTS, 'alertmanager', 'alertmanager/alertmanager.yml'),
      [],
    );
  });
});
