// Static checks of Grafana's provisioning files: no Grafana binary runs here, so the values
// it would read are checked against the rest of the repo instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { metricNames, paddingIn, syntaxErrors } from '../lib/panel-queries.ts';
import { knownMetrics } from '../lib/known-metrics.ts';

const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

const DATASOURCES_FILE = 'grafana/provisioning/datasources/datasources.yml';
const PROVIDERS_FILE = 'grafana/provisioning/dashboards/dashboards.yml';

/**
 * What Grafana makes of the values in a provisioning file: it expands $NAME and ${NAME} in
 * every string value from its environment and turns $$ into a literal $. This repo sets no
 * variables for Grafana to read, so a single $ would be expanded to "" and break the value.
 */
const grafanaExpand = (value: unknown): unknown => {
  if (typeof value === 'string') {
    const unescaped = /\$\{?\w+/.exec(value.replace(/\$\$/g, ''));
    if (unescaped) {
      throw new Error(`unescaped ${unescaped[0]}: Grafana would expand it from its environment`);
    }
    return value.replace(/\$\$/g, '$');
  }
  if (Array.isArray(value)) return value.map(grafanaExpand);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, grafanaExpand(v)]));
  }
  return value;
};

/** A provisioning file as Grafana reads it. */
const provisioning = (path: string): unknown => grafanaExpand(parse(read(path)));

interface Datasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  isDefault?: boolean;
  editable?: boolean;
  jsonData?: Record<string, unknown>;
}

const datasources = (provisioning(DATASOURCES_FILE) as { datasources: Datasource[] }).datasources;
const byUid = (uid: string): Datasource => {
  const found = datasources.find((datasource) => datasource.uid === uid);
  assert.ok(found, `no datasource with uid ${uid}`);
  return found;
};

describe('Grafana provisioning', () => {
  it('escapes every literal $ so that Grafana does not expand it', () => {
    assert.throws(() => grafanaExpand({ query: 'rate(x{$__tags}[5m])' }), /unescaped \$__tags/);
    assert.deepEqual(grafanaExpand(['/trace/$${__value.raw}']), ['/trace/${__value.raw}']);
    for (const file of [DATASOURCES_FILE, PROVIDERS_FILE]) provisioning(file);
  });

  it('defines Prometheus (the default), Jaeger, VictoriaLogs and Alertmanager with the fixed uids, read-only', () => {
    assert.deepEqual(datasources.map((d) => [d.uid, d.type]).sort(), [
      ['alertmanager', 'alertmanager'],
      ['jaeger', 'jaeger'],
      ['prometheus', 'prometheus'],
      ['victorialogs', 'victoriametrics-logs-datasource'],
    ]);
    assert.deepEqual(
      datasources.filter((d) => d.isDefault).map((d) => d.uid),
      ['prometheus'],
    );
    for (const datasource of datasources) assert.equal(datasource.editable, false, datasource.uid);
  });

  it('points at the compose services', () => {
    assert.equal(byUid('prometheus').url, 'http://prometheus:9090');
    assert.equal(byUid('jaeger').url, 'http://jaeger:16686');
    assert.equal(byUid('alertmanager').url, 'http://alertmanager:9093');
    assert.equal(byUid('victorialogs').url, 'http://victorialogs:9428');
    assert.equal(byUid('alertmanager').jsonData?.implementation, 'prometheus');
  });

  it('gives Prometheus the scrape interval as its minimum step, and POST queries', () => {
    const prometheusConfig = parse(read('prometheus/prometheus.yml')) as {
      global: { scrape_interval: string };
    };
    assert.equal(
      byUid('prometheus').jsonData?.timeInterval,
      prometheusConfig.global.scrape_interval,
    );
    assert.equal(byUid('prometheus').jsonData?.httpMethod, 'POST');
  });

  it('links exemplars by their trace_id label to Jaeger', () => {
    const destinations = byUid('prometheus').jsonData?.exemplarTraceIdDestinations as {
      name: string;
      datasourceUid?: string;
      url?: string;
    }[];
    assert.ok(destinations.some((d) => d.name === 'trace_id' && d.datasourceUid === 'jaeger'));
    for (const destination of destinations) assert.equal(destination.name, 'trace_id');
    for (const { url } of destinations.filter((d) => d.url)) {
      assert.match(url as string, /\/trace\/\$\{__value\.raw\}$/);
    }
  });
});

describe('Grafana provisioning', () => {
  it('links Jaeger spans to span metrics in Prometheus with queries on known metrics', async () => {
    const known = await knownMetrics();
    const tracesToMetrics = byUid('jaeger').jsonData?.tracesToMetrics as {
      datasourceUid: string;
      tags: { key: string; value: string }[];
      queries: { name: string; query: string }[];
    };
    assert.equal(tracesToMetrics.datasourceUid, 'prometheus');
    // The spanmetrics connector names the resource attribute service.name service_name.
    assert.deepEqual(tracesToMetrics.tags, [{ key: 'service.name', value: 'service_name' }]);
    assert.ok(tracesToMetrics.queries.length > 0);
    for (const { name, query } of tracesToMetrics.queries) {
      assert.match(query, /\{\$__tags[,}]/, `${name}: no $__tags`);
      // What Grafana sends for a span of the agent service.
      const expanded = query.replaceAll('$__tags', 'service_name="agent-service"');
      assert.deepEqual(syntaxErrors(expanded), [], name);
      assert.deepEqual(paddingIn(expanded), [], name);
      const { names, errors } = metricNames(expanded);
      assert.deepEqual(errors, [], name);
      for (const metric of names) assert.ok(known.has(metric), `${name}: unknown metric ${metric}`);
    }
  });

  // Checked against the sources: the plugin (VictoriaMetrics/victorialogs-datasource,
  // src/transformers/fields/derivedField.ts) reads a `label` matcher's value from the log
  // line's labels, where VictoriaLogs' OTLP ingestion puts the record's own trace id as the
  // field `trace_id` (app/vlinsert/opentelemetry/pb.go); for a datasource of another type it
  // sends `url`, interpolated, as that datasource's `query`, which Jaeger's reads as a trace id.
  it("links a log line's trace_id to its trace in Jaeger (the plugin's derived field)", () => {
    const derived = byUid('victorialogs').jsonData?.derivedFields as {
      name: string;
      matcherType?: string;
      matcherRegex: string;
      url?: string;
      datasourceUid?: string;
    }[];
    const toTrace = derived.filter((field) => field.datasourceUid === 'jaeger');
    assert.equal(toTrace.length, 1, 'one derived field opens Jaeger');
    const [field] = toTrace;
    assert.equal(field?.matcherType, 'label');
    assert.equal(field?.matcherRegex, 'trace_id');
    assert.equal(field?.url, '${__value.raw}');
    assert.equal(byUid(field?.datasourceUid ?? '').type, 'jaeger');
  });

  // Checked against Grafana's source (public/app/features/explore/TraceView: getTraceToLogsQuery,
  // case 'victoriametrics-logs-datasource', since 12.2): with customQuery the query is sent as
  // the plugin's `expr` after ${__trace.traceId} / ${__span.spanId} are interpolated; without
  // it, Grafana builds trace_id/span_id filters only when filterByTraceID/SpanID are set.
  it("links a Jaeger span to its request's log lines in VictoriaLogs (tracesToLogsV2, custom LogsQL)", () => {
    const toLogs = byUid('jaeger').jsonData?.tracesToLogsV2 as {
      datasourceUid: string;
      customQuery?: boolean;
      query?: string;
      spanStartTimeShift?: string;
      spanEndTimeShift?: string;
    };
    assert.equal(byUid(toLogs.datasourceUid).type, 'victoriametrics-logs-datasource');
    assert.equal(toLogs.customQuery, true);
    // Exact match (:=) on the field the record's trace id is stored in, quoted.
    assert.equal(toLogs.query, 'trace_id:="${__trace.traceId}"');
    // A window around the span, wider than the Collector's batching (1 s) and the app's (1 s).
    assert.match(toLogs.spanStartTimeShift ?? '', /^-\d+[sm]$/);
    assert.match(toLogs.spanEndTimeShift ?? '', /^\d+[sm]$/);
  });
});

describe('Grafana provisioning', () => {
  it('loads the dashboards from the mounted folder into one folder, read-only in the UI', () => {
    const { providers } = provisioning(PROVIDERS_FILE) as {
      providers: {
        type: string;
        folder: string;
        allowUiUpdates: boolean;
        options: { path: string };
      }[];
    };
    assert.equal(providers.length, 1);
    const [provider] = providers;
    assert.equal(provider?.type, 'file');
    assert.ok(provider?.folder);
    assert.equal(provider?.allowUiUpdates, false);
    // docker-compose.yml mounts ./grafana/dashboards here.
    assert.equal(provider?.options.path, '/var/lib/grafana/dashboards');
  });
});
