// otel-collector/: the layered config (config.yaml + tail-sampling-<on|off>.yaml +
// config-extras.yaml, as docker-compose.yml passes them) has a complete traces path with
// memory_limiter first, span metrics from every span, tail sampling off by default and only
// before Jaeger when on; and the pinned Collector build accepts every combination.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  checkCollectorTraces,
  checkTailSampling,
  mergeConfigs,
  parseYamlMapping,
  spanMetricsBucketsSeconds,
} from '../lib/collector.ts';
import { commandArgs, repoComposeFixture } from '../lib/compose.ts';
import { program, run } from '../lib/programs.ts';
import { assertReports, copy } from '../lib/reports.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';

const DIR = join(REPO_ROOT, 'otel-collector');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const parse = (name: string) => parseYamlMapping(read(name), `otel-collector/${name}`);

const BASE = parse('config.yaml');
const OFF = mergeConfigs(BASE, parse('tail-sampling-off.yaml'), parse('config-extras.yaml'));
const ON = mergeConfigs(BASE, parse('tail-sampling-on.yaml'), parse('config-extras.yaml'));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test edits reach deep
type Any = any;

describe('otel-collector config', () => {
  const f = repoComposeFixture();
  it('docker-compose.yml passes the files in the order these tests merge them', () => {
    assert.deepEqual(commandArgs(f.compose.services['otel-collector']), [
      '--config=/etc/otelcol/config.yaml',
      '--config=/etc/otelcol/tail-sampling-off.yaml',
      '--config=/etc/otelcol/config-extras.yaml',
    ]);
  });
});

describe('otel-collector config', () => {
  describe('the traces path', () => {
    it('OTLP (gRPC and HTTP) in; memory_limiter first; span metrics to Prometheus; spans to Jaeger with queue and retry; health_check; own metrics on 0.0.0.0:8888', () => {
      assert.deepEqual(checkCollectorTraces(OFF), []);
      assert.deepEqual(checkCollectorTraces(ON), []);
    });

    it('reports memory_limiter not first and batch before the sampler (a missing component: otelcol validate below)', () => {
      assertReports(
        checkCollectorTraces(
          copy(
            OFF,
            (c: Any) => (c.service.pipelines.traces.processors = ['batch', 'memory_limiter']),
          ),
        ),
        /traces: memory_limiter is not the first processor/,
      );
      assertReports(
        checkCollectorTraces(
          copy(
            ON,
            (c: Any) =>
              (c.service.pipelines['traces/jaeger'].processors = [
                'memory_limiter',
                'batch',
                'tail_sampling',
              ]),
          ),
        ),
        /batch must come after every other processor/,
      );
      assertReports(
        checkCollectorTraces(copy(OFF, (c: Any) => delete c.service.pipelines['traces/jaeger'])),
        /no OTLP traces pipeline exports to it/,
      );
    });
  });
});

describe('otel-collector config', () => {
  describe('the traces path', () => {
    it('reports a Jaeger exporter without queue or retry, span metrics without exemplars, and a private metrics reader', () => {
      assertReports(
        checkCollectorTraces(
          copy(OFF, (c: Any) => (c.exporters['otlp_grpc/jaeger'].retry_on_failure.enabled = false)),
        ),
        /retry_on_failure is off/,
      );
      assertReports(
        checkCollectorTraces(
          copy(OFF, (c: Any) => delete c.exporters['otlp_grpc/jaeger'].sending_queue),
        ),
        /sending_queue is off/,
      );
      assertReports(
        checkCollectorTraces(
          copy(OFF, (c: Any) => (c.connectors.span_metrics.exemplars.enabled = false)),
        ),
        /exemplars are off/,
      );
      assertReports(
        checkCollectorTraces(
          copy(
            OFF,
            (c: Any) =>
              (c.service.telemetry.metrics.readers[0].pull.exporter.prometheus.host = 'localhost'),
          ),
        ),
        /own metrics on localhost:8888, not 0.0.0.0:8888/,
      );
      assertReports(
        checkCollectorTraces(
          copy(
            OFF,
            (c: Any) =>
              delete c.service.telemetry.metrics.readers[0].pull.exporter.prometheus.without_units,
          ),
        ),
        /without_type_suffix and without_units must be true/,
      );
    });
  });
});

describe('otel-collector config', () => {
  describe('tail sampling', () => {
    it('is defined, off by default, and when on sits only in the pipeline to Jaeger', () => {
      assert.deepEqual(checkTailSampling(OFF, ON), []);
      const jaeger = (ON as Any).service.pipelines['traces/jaeger'].processors;
      assert.deepEqual(jaeger, ['memory_limiter', 'tail_sampling', 'batch']);
    });
    it('reports sampling before span metrics, sampling on by default, and an overlay that does nothing', () => {
      const beforeSpanMetrics = copy(
        ON,
        (c: Any) =>
          (c.service.pipelines.traces.processors = ['memory_limiter', 'tail_sampling', 'batch']),
      );
      assertReports(
        checkTailSampling(OFF, beforeSpanMetrics),
        /traces: tail sampling before span metrics/,
      );
      assertReports(checkCollectorTraces(beforeSpanMetrics), /under-count every rate/);
      assertReports(checkTailSampling(ON, ON), /on in the base config/);
      assertReports(checkTailSampling(OFF, OFF), /overlay does not switch it on/);
    });
  });

  it('span metrics forget a resource that stopped sending and cap their series', () => {
    const sm = (OFF as Any).connectors.span_metrics;
    // Both default to 0: never expire (every app restart freezes a copy of its series, since
    // the connector re-sends them at each flush) and no limit.
    assert.match(String(sm.metrics_expiration ?? ''), /^[1-9]\d*[smh]$/, 'metrics_expiration');
    assert.ok(Number(sm.aggregation_cardinality_limit) > 0, 'aggregation_cardinality_limit');
  });
});

describe('otel-collector config', () => {
  it('tail sampling keeps slow traces per route, at the latency limits of the alerts', () => {
    const doc = YAML.parse(
      readFileSync(join(REPO_ROOT, 'prometheus/rules/thresholds.yml'), 'utf8'),
    ) as {
      groups: { rules: { record: string; expr: string }[] }[];
    };
    const limit = (name: string) =>
      1000 *
      Number(
        /vector\(([\d.]+)\)/.exec(doc.groups[0].rules.find((r) => r.record === name)!.expr)![1],
      );
    const policies = (OFF as Any).processors.tail_sampling.policies as Any[];
    assert.ok(!policies.some((p) => p.type === 'latency'), 'no latency policy for every route');
    const slow = policies
      .filter((p) => p.type === 'and')
      .map((p) => {
        const subs = p.and.and_sub_policy as Any[];
        const route = subs.find((x) => x.type === 'string_attribute').string_attribute;
        const latency = subs.find((x) => x.type === 'latency').latency;
        assert.equal(route.key, 'http.route', p.name);
        return {
          routes: route.values,
          invert: Boolean(route.invert_match),
          ms: latency.threshold_ms,
        };
      });
    const runs = ['/v1/agents/:agent/runs'];
    assert.deepEqual(slow, [
      { routes: runs, invert: false, ms: limit('threshold:agent_run_latency_p95_seconds') },
      { routes: runs, invert: true, ms: limit('threshold:api_latency_p95_seconds') },
    ]);
  });

  it('span-metric buckets include every latency threshold of the alert rules', () => {
    const buckets = spanMetricsBucketsSeconds(OFF);
    const thresholds = readFileSync(join(REPO_ROOT, 'prometheus/rules/thresholds.yml'), 'utf8');
    const doc = YAML.parse(thresholds) as {
      groups: { rules: { record: string; expr: string }[] }[];
    };
    const latency = doc.groups
      .flatMap((g) => g.rules)
      .filter((r) => /latency.*_seconds$/.test(r.record))
      .map((r) => ({ record: r.record, value: Number(/vector\(([\d.]+)\)/.exec(r.expr)?.[1]) }));
    assert.ok(latency.length > 0, 'no latency thresholds found in prometheus/rules/thresholds.yml');
    for (const t of latency) {
      assert.ok(
        buckets.includes(t.value),
        `${t.record} = ${t.value}s is not a span-metrics bucket boundary (${buckets.join(', ')})`,
      );
    }
  });
});

describe('otel-collector config', () => {
  describe('with the pinned Collector build (otelcol validate)', () => {
    let dir: string;
    before(function () {
      if (!program('otelcol', { pinnedOnly: true })) this.skip();
      dir = mkdtempSync(join(tmpdir(), 'otelcol-config-'));
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    for (const overlay of ['tail-sampling-off.yaml', 'tail-sampling-on.yaml']) {
      it(`accepts config.yaml + ${overlay} + config-extras.yaml`, () => {
        const otelcol = program('otelcol', { pinnedOnly: true });
        const r = run(
          otelcol!.path,
          [
            'validate',
            `--config=config.yaml`,
            `--config=${overlay}`,
            '--config=config-extras.yaml',
          ],
          DIR,
        );
        assert.equal(r.code, 0, r.output);
      });
    }

    // Each names a component no section defines: a processor, and an exporter misspelt.
    const brokenPipelines: [string, (c: Any) => void, RegExp][] = [
      [
        'a pipeline naming a processor that does not exist',
        (c) => (c.service.pipelines.traces.processors = ['memory_limiter', 'nosuchprocessor']),
        /nosuchprocessor/,
      ],
      [
        'a pipeline naming a misspelt exporter',
        (c) => (c.service.pipelines['traces/jaeger'].exporters = ['otlp_grpc/jaegr']),
        /otlp_grpc\/jaegr/,
      ],
    ];
    for (const [what, edit, message] of brokenPipelines) {
      it(`rejects a broken copy (${what})`, () => {
        const otelcol = program('otelcol', { pinnedOnly: true });
        writeFileSync(join(dir, 'broken.yaml'), YAML.stringify(copy(BASE, edit)));
        const r = run(otelcol!.path, ['validate', '--config=broken.yaml'], dir);
        assert.notEqual(r.code, 0, 'otelcol validate accepted a broken config');
        assert.match(r.output, message);
      });
    }
  });
});
