import assert from 'node:assert/strict';
import YAML from 'yaml';
import { speedup } from '../../scripts/lib/time-scale.ts';
import {
  listenPorts,
  mapAddress,
  rewriteAlertmanagerConfig,
  rewritePrometheusConfig,
  rewriteRuleFile,
  rewriteServiceConfig,
  scalePromQL,
  type TimeScaling,
} from '../../scripts/lib/stack/rewrite.ts';

const SCALE: TimeScaling = { ...speedup(60), minIntervalMs: 1000, minRangeScrapes: 4 };
const PROMQL = { ...SCALE, scrapeIntervalMs: 1000 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = (text: string): any => YAML.parse(text);

describe('rewrite: PromQL durations', () => {
  it('scales range windows, offsets and subqueries', () => {
    const { expr } = scalePromQL(
      'sum(rate(http_requests_total{code=~"5.."}[1h] offset 1d)) / max_over_time(x[6h:5m])',
      PROMQL,
    );
    assert.equal(
      expr,
      'sum(rate(http_requests_total{code=~"5.."}[1m] offset 24m)) / max_over_time(x[6m:5s])',
    );
  });

  it('leaves strings, label values and plain numbers alone', () => {
    const q = 'rate(x{window="5m", le="300"}[30m]) * 3600 > 14.4 * 0.005';
    assert.equal(
      scalePromQL(q, PROMQL).expr,
      'rate(x{window="5m", le="300"}[30s]) * 3600 > 14.4 * 0.005',
    );
  });

  it('clamps windows to whole scrapes and reports it', () => {
    const notes: string[] = [];
    const { expr } = scalePromQL('rate(x[1m]) and rate(y[5m])', PROMQL, 'alert A', notes);
    // 1m/60 = 1s < 4 scrapes of 1s: raised to 4s; 5m/60 = 5s is above the floor.
    assert.equal(expr, 'rate(x[4s]) and rate(y[5s])');
    assert.equal(notes.length, 1);
    assert.match(notes[0], /alert A range \[1m\].*4s/);
  });

  it('uses the scaled scrape interval for the window floor', () => {
    const { expr } = scalePromQL('rate(x[5m])', { ...PROMQL, scrapeIntervalMs: 2000 });
    assert.equal(expr, 'rate(x[8s])');
  });

  it('scales negative offsets and subqueries without a step', () => {
    assert.equal(scalePromQL('x offset -1h', PROMQL).expr, 'x offset -1m');
    assert.equal(scalePromQL('max_over_time(x[1h:])', PROMQL).expr, 'max_over_time(x[1m:])');
  });

  it('refuses what it cannot scale correctly', () => {
    assert.throws(() => scalePromQL('rate(x[5m * 2])', PROMQL), /duration arithmetic/);
    assert.throws(() => scalePromQL('rate(x[5m)', PROMQL), /does not parse/);
  });
});

describe('rewrite: addresses', () => {
  const map = { 'app:8000': ['127.0.0.1:41000'], 'otel-collector:4317': ['127.0.0.1:41001'] };
  it('maps host:port, URLs and listen addresses of the config owner', () => {
    assert.deepEqual(mapAddress('app:8000', map), ['127.0.0.1:41000']);
    assert.deepEqual(mapAddress('http://app:8000/metrics', map), [
      'http://127.0.0.1:41000/metrics',
    ]);
    assert.deepEqual(mapAddress('0.0.0.0:4317', map, 'otel-collector'), ['127.0.0.1:41001']);
    assert.equal(mapAddress('grafana:3000', map), undefined);
    assert.equal(mapAddress('just text', map), undefined);
  });
});

const PROM_YML = `
global:
  scrape_interval: 15s
  evaluation_interval: 15s
  rule_query_offset: 10s
rule_files:
  - /etc/prometheus/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: [alertmanager:9093]
scrape_configs:
  - job_name: app
    fallback_scrape_protocol: PrometheusText0.0.4
    static_configs:
      - targets: [app:8000]
  - job_name: prometheus
    static_configs:
      - targets: [localhost:9090]
  - job_name: otel-collector
    scrape_interval: 30s
    static_configs:
      - targets: [otel-collector:8888, otel-collector:8889]
  - job_name: grafana
    static_configs:
      - targets: [grafana:3000]
`;

const ADDRS = {
  'app:8000': ['127.0.0.1:41000'],
  'prometheus:9090': ['127.0.0.1:41090'],
  'alertmanager:9093': ['127.0.0.1:41093'],
  'otel-collector:8888': ['127.0.0.1:41888'],
  'otel-collector:8889': ['127.0.0.1:41889'],
};

describe('rewrite: prometheus.yml', () => {
  const rules = (entry: string) => [`/tmp/out/rules/${entry.split('/').pop()}`];
  // The repo's prometheus.yml for the test addresses and rule files, as one Prometheus reads it.
  const rewriteFor = (compat: 'v2' | 'v3', scaling?: TimeScaling) =>
    rewritePrometheusConfig(PROM_YML, { addresses: ADDRS, ruleFiles: rules, scaling, compat });

  it('maps targets, keeps compose instance names, drops jobs not running and scales intervals', () => {
    const r = rewriteFor('v3', SCALE);
    const doc = load(r.text);
    assert.deepEqual(
      doc.scrape_configs.map((j: { job_name: string }) => j.job_name),
      ['app', 'prometheus', 'otel-collector'],
    );
    assert.deepEqual(doc.scrape_configs[0].static_configs, [
      { targets: ['127.0.0.1:41000'], labels: { instance: 'app:8000' } },
    ]);
    assert.equal(doc.scrape_configs[1].static_configs[0].targets[0], '127.0.0.1:41090');
    assert.ok(r.notes.some((n) => /dropped.*grafana/.test(n)));
    // 15s/60 is below the 1 s floor; the 30 s job becomes 1 s too (clamped), timeout capped.
    assert.equal(doc.global.scrape_interval, '1s');
    assert.equal(doc.global.evaluation_interval, '1s');
    assert.equal(doc.global.scrape_timeout, '1s');
    assert.equal(doc.scrape_configs[2].scrape_interval, '1s');
    assert.equal(r.scrapeIntervalMs, 1000);
    assert.equal(r.evaluationIntervalMs, 1000);
    assert.deepEqual(doc.rule_files, ['/tmp/out/rules/*.yml']);
    assert.deepEqual(doc.alerting.alertmanagers[0].static_configs[0].targets, ['127.0.0.1:41093']);
    assert.equal(doc.global.rule_query_offset, '10s', 'v3 keeps 3.x fields');
    assert.deepEqual(r.jobs.find((j) => j.job === 'app')?.targets, ['127.0.0.1:41000']);
  });

  it('strips 3.x-only fields for Prometheus 2.42, loudly', () => {
    const r = rewriteFor('v2');
    const doc = load(r.text);
    assert.equal(doc.global.rule_query_offset, undefined);
    assert.equal(doc.scrape_configs[0].fallback_scrape_protocol, undefined);
    assert.ok(r.notes.some((n) => /rule_query_offset.*2\.42/.test(n)));
    assert.ok(r.notes.some((n) => /fallback_scrape_protocol/.test(n)));
  });

  it('leaves time parameters unscaled without a scaling, defaults made explicit', () => {
    const r = rewriteFor('v3');
    const doc = load(r.text);
    assert.equal(doc.global.scrape_interval, '15s');
    assert.equal(doc.global.scrape_timeout, '10s');
    assert.equal(doc.scrape_configs[2].scrape_interval, '30s');
    assert.equal(r.scrapeIntervalMs, 30_000);
  });
});

describe('rewrite: prometheus.yml', () => {
  const rules = (entry: string) => [`/tmp/out/rules/${entry.split('/').pop()}`];

  it('expands one compose target into several local instances', () => {
    const addresses = { ...ADDRS, 'app:8000': ['127.0.0.1:1', '127.0.0.1:2'] };
    const doc = load(
      rewritePrometheusConfig(PROM_YML, { addresses, ruleFiles: rules, compat: 'v3' }).text,
    );
    assert.deepEqual(doc.scrape_configs[0].static_configs, [
      { targets: ['127.0.0.1:1', '127.0.0.1:2'] },
    ]);
  });

  it('inlines scrape_config_files for 2.42', () => {
    const text = `scrape_config_files: [extra.yml]\nscrape_configs: []\n`;
    const extra = `scrape_configs:\n  - job_name: extra\n    static_configs:\n      - targets: [app:8000]\n`;
    const r = rewritePrometheusConfig(text, {
      addresses: ADDRS,
      ruleFiles: rules,
      compat: 'v2',
      readScrapeConfigFile: () => extra,
    });
    const doc = load(r.text);
    assert.equal(doc.scrape_config_files, undefined);
    assert.equal(doc.scrape_configs[0].job_name, 'extra');
  });
});

const RULES_YML = `
groups:
  - name: slo
    interval: 30s
    rules:
      - record: slo:errors:ratio_rate5m
        expr: sum(rate(http_requests_total{status_code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))
      - alert: ErrorBudgetBurnFast
        expr: slo:errors:ratio_rate1h > 14.4 * 0.005 and slo:errors:ratio_rate5m > 14.4 * 0.005
        for: 2m
        keep_firing_for: 30s
        labels: { severity: critical }
  - name: instant
    rules:
      - alert: Fast
        expr: up == 0
        for: 0s
      - alert: Short
        expr: up == 0
        for: 1m
`;

describe('rewrite: rule files', () => {
  it('scales group intervals, for, keep_firing_for and every window, with floors', () => {
    const r = rewriteRuleFile(RULES_YML, {
      scaling: SCALE,
      scrapeIntervalMs: 1000,
      evaluationIntervalMs: 1000,
      compat: 'v3',
    });
    const doc = load(r.text);
    const [slo, instant] = doc.groups;
    assert.equal(slo.interval, '1s');
    assert.equal(
      slo.rules[0].expr,
      'sum(rate(http_requests_total{status_code=~"5.."}[5s])) / sum(rate(http_requests_total[5s]))',
    );
    assert.equal(slo.rules[1].for, '2s');
    // 30s/60 = 0.5 s is below one evaluation interval.
    assert.equal(slo.rules[1].keep_firing_for, '1s');
    assert.ok(r.notes.some((n) => /ErrorBudgetBurnFast keep_firing_for/.test(n)));
    assert.equal(slo.rules[1].labels.severity, 'critical', 'labels untouched');
    assert.equal(instant.rules[0].for, '0s', 'for: 0 keeps meaning "at once"');
    // 1m/60 = 1 s: raised to two evaluation intervals.
    assert.equal(instant.rules[1].for, '2s');
    assert.ok(r.notes.some((n) => /alert Short for: 1m .*2s/.test(n)));
  });

  it('is the identity on time parameters without scaling', () => {
    const doc = load(
      rewriteRuleFile(RULES_YML, {
        scrapeIntervalMs: 15_000,
        evaluationIntervalMs: 15_000,
        compat: 'v3',
      }).text,
    );
    assert.equal(doc.groups[0].interval, '30s');
    assert.equal(doc.groups[0].rules[1].for, '2m');
    assert.match(doc.groups[0].rules[0].expr, /\[5m\]/);
  });

  it('strips group fields 2.42 rejects', () => {
    const text = `groups:\n  - name: g\n    query_offset: 1m\n    rules: [{record: r, expr: "1"}]\n`;
    const r = rewriteRuleFile(text, {
      scrapeIntervalMs: 1000,
      evaluationIntervalMs: 1000,
      compat: 'v2',
    });
    assert.equal(load(r.text).groups[0].query_offset, undefined);
    assert.ok(r.notes.some((n) => /query_offset.*2\.42/.test(n)));
  });
});

const AM_YML = `
global:
  resolve_timeout: 5m
  slack_api_url_file: /run/secrets/slack
route:
  receiver: local
  group_by: [alertname]
  routes:
    - matchers: [severity="critical"]
      receiver: pager
      group_wait: 10s
      repeat_interval: 1h
receivers:
  - name: local
    webhook_configs:
      - url: http://alert-receiver:9095/alerts
        send_resolved: true
  - name: pager
    webhook_configs:
      - url: http://alert-receiver:9095/alerts
    slack_configs:
      - channel: '#alerts'
  - name: deadman
    webhook_configs:
      - url_file: /run/secrets/deadman
`;

describe('rewrite: alertmanager.yml', () => {
  const addresses = { 'alert-receiver:9095': ['127.0.0.1:41095'] };
  it('scales every group timer (defaults included) and points webhooks at the local receiver', () => {
    const r = rewriteAlertmanagerConfig(AM_YML, { addresses, scaling: SCALE });
    const doc = load(r.text);
    assert.equal(doc.global.resolve_timeout, '5s');
    assert.equal(doc.global.slack_api_url_file, undefined);
    assert.deepEqual(
      [doc.route.group_wait, doc.route.group_interval, doc.route.repeat_interval],
      ['1s', '5s', '4m'],
    );
    assert.deepEqual(
      [doc.route.routes[0].group_wait, doc.route.routes[0].repeat_interval],
      ['1s', '1m'],
    );
    assert.equal(doc.receivers[0].webhook_configs[0].url, 'http://127.0.0.1:41095/alerts');
    assert.equal(doc.receivers[0].webhook_configs[0].send_resolved, true);
    assert.equal(doc.receivers[1].slack_configs, undefined);
    assert.deepEqual(doc.receivers[2], { name: 'deadman' });
    assert.ok(r.notes.some((n) => /slack_configs/.test(n)));
  });
});

// Where the Collector's and Jaeger's listen addresses move to.
const OWN_ADDRS = {
  'otel-collector:4318': ['127.0.0.1:42318'],
  'otel-collector:8888': ['127.0.0.1:42888'],
  'jaeger:4317': ['127.0.0.1:43317'],
};

describe('rewrite: Collector and Jaeger configs', () => {
  it('maps listen addresses of the owner and references to other services', () => {
    const text = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 0.0.0.0:4318
exporters:
  otlp/jaeger:
    endpoint: jaeger:4317
    timeout: 5s
service:
  telemetry:
    metrics:
      readers:
        - pull: { exporter: { prometheus: { host: 0.0.0.0, port: 8888 } } }
`;
    const doc = load(
      rewriteServiceConfig(text, 'otel-collector', OWN_ADDRS, 'otel-collector/config.yaml'),
    );
    assert.equal(doc.receivers.otlp.protocols.http.endpoint, '127.0.0.1:42318');
    assert.equal(doc.exporters['otlp/jaeger'].endpoint, '127.0.0.1:43317');
    assert.equal(doc.exporters['otlp/jaeger'].timeout, '5s');
    assert.deepEqual(doc.service.telemetry.metrics.readers[0].pull.exporter.prometheus, {
      host: '127.0.0.1',
      port: 42888,
    });
  });
});

describe('rewrite: Collector and Jaeger configs', () => {
  it('scales the span-metrics flush and expiries and the exporter expiry, nothing else', () => {
    const text = `
connectors:
  span_metrics:
    metrics_flush_interval: 15s
    metrics_expiration: 5m
    aggregation_cardinality_limit: 1000
exporters:
  prometheus:
    endpoint: 0.0.0.0:8888
    metric_expiration: 5m
  otlp/jaeger:
    endpoint: jaeger:4317
    timeout: 5s
`;
    const doc = load(
      rewriteServiceConfig(text, 'otel-collector', OWN_ADDRS, 'otel-collector/config.yaml', SCALE),
    );
    assert.deepEqual(doc.connectors.span_metrics, {
      metrics_flush_interval: '1s',
      metrics_expiration: '5s',
      aggregation_cardinality_limit: 1000,
    });
    assert.equal(doc.exporters.prometheus.metric_expiration, '5s');
    assert.equal(doc.exporters['otlp/jaeger'].timeout, '5s');
    const unscaled = load(
      rewriteServiceConfig(text, 'otel-collector', OWN_ADDRS, 'otel-collector/config.yaml'),
    );
    assert.equal(unscaled.connectors.span_metrics.metrics_expiration, '5m');
  });

  it('fails on a port the harness did not allocate', () => {
    assert.throws(
      () =>
        rewriteServiceConfig(
          'x: { endpoint: 0.0.0.0:9999 }',
          'otel-collector',
          OWN_ADDRS,
          'c.yaml',
        ),
      /no local address for "0.0.0.0:9999"/,
    );
    assert.throws(
      () =>
        rewriteServiceConfig(
          'x: { endpoint: "http://grafana:3000" }',
          'jaeger',
          OWN_ADDRS,
          'j.yaml',
        ),
      /grafana:3000/,
    );
  });
});

describe('rewrite: listen ports', () => {
  it('lists every port a config listens on, in both address forms', () => {
    const text = `
receivers: { otlp: { protocols: { grpc: { endpoint: 0.0.0.0:4317 }, http: { endpoint: ":4318" } } } }
exporters: { otlp: { endpoint: jaeger:4317 } }
service: { telemetry: { metrics: { readers: [{ pull: { exporter: { prometheus: { host: 0.0.0.0, port: 8888 } } } }] } } }
`;
    assert.deepEqual(listenPorts(text, 'otel-collector'), [
      'otel-collector:4317',
      'otel-collector:4318',
      'otel-collector:8888',
    ]);
  });
});
