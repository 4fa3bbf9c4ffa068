// The rules generated from services.yml (scripts/lib/services.ts) for every entry with
// `rules: generated`: one rule group per service, keyed on the OpenTelemetry semantic
// conventions as they arrive in Prometheus (prometheus/prometheus.yml's `otlp:` block):
//   http.server.request.duration  -> http_server_request_duration_seconds_{count,bucket}
//   gen_ai.client.operation.duration -> gen_ai_client_operation_duration_seconds_count
// so a service in any language, scraped or pushing OTLP, is covered by its `service_name`.
// The burn-rate pairs are the demo's (ADR 0003): 14.4x over 1h and 5m, 6x over 6h and 30m,
// a minimum-traffic guard on the short window, `for: 2m`, `keep_firing_for: 10m`.
import YAML from 'yaml';
import { generatedServices, SERVICES_FILE, type Service } from './services.ts';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const HTTP = 'http_server_request_duration_seconds';
const GEN_AI = 'gen_ai_client_operation_duration_seconds';
const WINDOWS = ['30m', '1h', '6h'];
/** The burn-rate pairs: factor, long window, short window, and how soon the budget is gone. */
const PAIRS = [
  { factor: 14.4, long: '1h', short: '5m', gone: '2 days' },
  { factor: 6, long: '6h', short: '30m', gone: '5 days' },
];

/** A bucket boundary as Prometheus may spell its `le` ("2" or "2.0"), as a regex. */
export function leRegex(seconds: number): string {
  const text = String(seconds).replace('.', '\\\\.');
  return Number.isInteger(seconds) ? `${text}(\\\\.0)?` : text;
}

const percent = (r: number) => `${Number((r * 100).toPrecision(6))}%`;

/** The SLI's recorded series: requests, 5xx and slow requests, as 5-minute rates and ratios. */
function recordingRules(s: Service): Rule[] {
  const sel = `service_name="${s.name}", http_route=~"${s.slo.http_route}"`;
  // One selector per line: the rules file stays readable at any service name's length.
  const rate = (metric: string, extra = '') =>
    `sum by (service_name) (\n  rate(${metric}{${sel}${extra}}[5m])\n)`;
  const by = 'sum by (service_name)';
  const rules: Rule[] = [
    { record: 'service_name:http_server_requests:rate5m', expr: rate(`${HTTP}_count`) },
    {
      record: 'service_name:http_server_request_errors:rate5m',
      expr: `${rate(`${HTTP}_count`, ', http_response_status_code=~"5.."')}\nor\n0 * service_name:http_server_requests:rate5m`,
    },
    {
      record: 'service_name:http_server_requests_slow:rate5m',
      expr: `service_name:http_server_requests:rate5m\n- ${rate(`${HTTP}_bucket`, `, le=~"${leRegex(s.slo.latency.threshold_seconds)}"`)}`,
    },
  ];
  for (const what of ['errors', 'slow']) {
    const num = what === 'errors' ? 'http_server_request_errors' : 'http_server_requests_slow';
    rules.push({
      record: `service_name:${num}:ratio_rate5m`,
      expr: `service_name:${num}:rate5m\n/ (service_name:http_server_requests:rate5m > 0)`,
    });
    for (const w of WINDOWS)
      rules.push({
        record: `service_name:${num}:ratio_rate${w}`,
        expr: `sum_over_time(service_name:${num}:rate5m[${w}])\n/ (sum_over_time(service_name:http_server_requests:rate5m[${w}]) > 0)`,
      });
  }
  const gen = (extra = '') =>
    `${by} (\n  rate(${GEN_AI}_count{service_name="${s.name}"${extra}}[5m])\n)`;
  rules.push(
    { record: 'service_name:gen_ai_client_operations:rate5m', expr: gen() },
    {
      record: 'service_name:gen_ai_client_operation_errors:ratio_rate5m',
      expr: `${gen(', error_type!=""')}\n/ (service_name:gen_ai_client_operations:rate5m > 0)`,
    },
  );
  return rules;
}

function burnAlert(
  s: Service,
  kind: 'availability' | 'latency',
  pair: (typeof PAIRS)[number],
): Rule {
  const budget = kind === 'availability' ? 1 - s.slo.availability : 1 - s.slo.latency.target;
  const num = kind === 'availability' ? 'http_server_request_errors' : 'http_server_requests_slow';
  const limit = Number((pair.factor * budget).toPrecision(6));
  const guard =
    pair.short === '5m'
      ? 'service_name:http_server_requests:rate5m * 300'
      : 'avg_over_time(service_name:http_server_requests:rate5m[30m]) * 1800';
  const what =
    kind === 'availability'
      ? 'failed with a 5xx'
      : `took longer than ${s.slo.latency.threshold_seconds} s`;
  return {
    alert: kind === 'availability' ? 'ServiceErrorBudgetBurn' : 'ServiceLatencyBudgetBurn',
    expr: [
      `service_name:${num}:ratio_rate${pair.long} > ${limit}`,
      `and`,
      `service_name:${num}:ratio_rate${pair.short} > ${limit}`,
      `and`,
      `${guard} >= ${s.slo.min_requests_in_window}`,
    ].join('\n'),
    for: '2m',
    keep_firing_for: '10m',
    labels: pageLabels(s, { slo: kind, long_window: pair.long, short_window: pair.short }),
    annotations: {
      summary: `${s.name} is spending its ${kind} error budget ${pair.factor} times too fast`,
      description:
        `{{ $value | humanizePercentage }} of the ${s.name} requests ${what} over the last ` +
        `${pair.long} (and still over the last ${pair.short}); its SLO allows ${percent(budget)}. ` +
        `At this rate the 30-day budget is gone in about ${pair.gone}.`,
      runbook_url: `${s.runbook_base}${kind === 'availability' ? 'ServiceErrorBudgetBurn' : 'ServiceLatencyBudgetBurn'}.md`,
    },
  };
}

function pageLabels(s: Service, extra: Record<string, string>): Record<string, string> {
  return { severity: 'critical', service: s.name, team: s.team.name, ...extra };
}

function genAiAlert(s: Service): Rule {
  return {
    alert: 'GenAIClientErrorRatioHigh',
    expr: [
      `service_name:gen_ai_client_operation_errors:ratio_rate5m > ${s.llm.error_ratio}`,
      'and',
      `service_name:gen_ai_client_operations:rate5m * 300 >= ${s.llm.min_calls_in_window}`,
    ].join('\n'),
    for: '2m',
    keep_firing_for: '10m',
    labels: pageLabels(s, {}),
    annotations: {
      summary: `${s.name}'s calls to its LLM provider are failing`,
      description:
        `{{ $value | humanizePercentage }} of the GenAI client calls of ${s.name} failed over the ` +
        `last 5 minutes (limit ${percent(s.llm.error_ratio)}).`,
      runbook_url: `${s.runbook_base}GenAIClientErrorRatioHigh.md`,
    },
  };
}

const HEADER = `# GENERATED by scripts/services.ts (make services) from ${SERVICES_FILE}: do not edit; edit
# the service's entry there and run make services. make validate fails when this file drifted.
#
# One group per service with \`rules: generated\`: its SLI on the OpenTelemetry conventions
# (http.server.request.duration, gen_ai.client.operation.duration, as the otlp: block of
# prometheus/prometheus.yml translates them) and its pages, labelled with its service and team
# (docs/forking.md, docs/decisions/0018-one-entry-per-service.md).
#
#   service_name:http_server_requests:rate5m               SLI requests per second
#   service_name:http_server_request_errors:rate5m         … answered with a 5xx
#   service_name:http_server_requests_slow:rate5m          … slower than its latency threshold
#   service_name:http_server_request_errors:ratio_rate5m   5xx share over 5 minutes, and likewise
#   service_name:http_server_request_errors:ratio_rate30m    _rate30m, _rate1h, _rate6h (sums of
#   service_name:http_server_request_errors:ratio_rate1h     the 5-minute rates over the window)
#   service_name:http_server_request_errors:ratio_rate6h
#   service_name:http_server_requests_slow:ratio_rate5m    slow share, the same windows
#   service_name:http_server_requests_slow:ratio_rate30m
#   service_name:http_server_requests_slow:ratio_rate1h
#   service_name:http_server_requests_slow:ratio_rate6h
#   service_name:gen_ai_client_operations:rate5m          GenAI client calls per second
#   service_name:gen_ai_client_operation_errors:ratio_rate5m  … share of them that failed
`;

/** prometheus/rules/services.yml as generated from the entries. */
export function servicesRulesFile(services: Service[]): string {
  const groups = generatedServices(services).map((s) => ({
    name: `service-${s.name}`,
    rules: [
      ...recordingRules(s),
      ...PAIRS.map((p) => burnAlert(s, 'availability', p)),
      ...PAIRS.map((p) => burnAlert(s, 'latency', p)),
      genAiAlert(s),
    ],
  }));
  return HEADER + YAML.stringify({ groups }, { lineWidth: 0, blockQuote: 'literal' });
}
