// make smoke's logic that can be checked without a stack: the result lines, the counter sum,
// the template-variable substitution, and the Grafana checks' requests against a local fake
// Grafana. The fake proves only the request shapes and how answers are judged; that real
// Grafana accepts them is proven live only in the GitHub workflow's compose job (Grafana
// cannot run where `make test` runs).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  readDashboards,
  substituteVariables,
  type TemplateVariable,
} from '../../scripts/lib/dashboards/panel-queries.ts';
import { grafanaChecks, grafanaQueries } from '../../scripts/lib/smoke/grafana.ts';
import { attempt, fail, pass, skip, summary } from '../../scripts/lib/smoke/report.ts';
import { sumCounter } from '../../scripts/lib/smoke/stack-checks.ts';

describe('make smoke: results and parsing', () => {
  it('fails the run when one check fails, and turns a thrown error into a FAIL line', async () => {
    const thrown = await attempt('Jaeger', () => Promise.reject(new Error('no answer')));
    assert.deepEqual(thrown, [fail('Jaeger', 'no answer')]);
    assert.deepEqual(summary([pass('a'), skip('b', 'why')]), {
      line: 'smoke: OK, 1 checks passed, 1 skipped',
      failed: false,
    });
    assert.equal(summary([pass('a'), ...thrown]).failed, true);
  });

  it("sums every series of Prometheus' rule failure counter", () => {
    const text = [
      '# TYPE prometheus_rule_evaluation_failures_total counter',
      'prometheus_rule_evaluation_failures_total{rule_group="a.yml;x"} 0',
      'prometheus_rule_evaluation_failures_total{rule_group="b.yml;y"} 3',
      'prometheus_rule_evaluation_failures_totalx 9',
    ].join('\n');
    assert.equal(sumCounter(text, 'prometheus_rule_evaluation_failures_total'), 3);
  });

  it("substitutes a dashboard's variables and leaves Grafana's macros to Grafana", () => {
    const all: TemplateVariable = {
      name: 'agent',
      type: 'query',
      current: { value: ['$__all'] },
      allValue: '.*',
    };
    const two: TemplateVariable = { name: 'model', type: 'query', current: { value: ['a', 'b'] } };
    assert.equal(
      substituteVariables('rate(x{agent=~"$agent",model=~"${model}"}[$__rate_interval])', [
        all,
        two,
      ]),
      'rate(x{agent=~".*",model=~"(a|b)"}[$__rate_interval])',
    );
    assert.throws(() => substituteVariables('x[$__made_up]', []), /no such macro/);
    assert.throws(() => substituteVariables('x{a="$nope"}', []), /no such macro/);
  });
});

interface Recorded {
  method: string;
  url: string;
  authorization?: string;
  body?: { queries: { expr: string; refId: string }[] };
}

/** A fake Grafana: answers the API calls smoke makes, records them, and can be told to fail. */
function fakeGrafana(opts: { emptyExprs?: Set<string>; unhealthy?: string; noHealthApi?: string }) {
  const requests: Recorded[] = [];
  const dashboards = readDashboards();
  const reply = (req: IncomingMessage, body: string): [number, unknown] => {
    const url = req.url ?? '';
    if (url === '/api/health') return [200, { database: 'ok' }];
    if (url === '/api/datasources')
      return [
        200,
        [
          ...['prometheus', 'jaeger', 'alertmanager'].map((uid) => ({ uid, type: uid })),
          { uid: 'victorialogs', type: 'victoriametrics-logs-datasource' },
        ].map((datasource) => ({ ...datasource, readOnly: true })),
      ];
    const health = /^\/api\/datasources\/uid\/([^/]+)\/health$/.exec(url);
    if (opts.noHealthApi && health?.[1] === opts.noHealthApi)
      return [404, { message: 'Plugin not found' }];
    if (url === `/api/datasources/proxy/uid/${opts.noHealthApi}/api/services`) return [200, {}];
    if (health)
      return health[1] === opts.unhealthy
        ? [400, { status: 'ERROR', message: 'connection refused' }]
        : [200, { status: 'OK', message: 'Successfully queried' }];
    if (url === '/api/datasources/proxy/uid/alertmanager/api/v2/status') return [200, {}];
    const dash = /^\/api\/dashboards\/uid\/(.+)$/.exec(url);
    const found = dashboards.find((d) => d.uid === dash?.[1]);
    if (found)
      return [
        200,
        { dashboard: { uid: found.uid, title: found.title }, meta: { provisioned: true } },
      ];
    if (url === '/api/ds/query') {
      const q = (JSON.parse(body) as Recorded['body'])!.queries[0]!;
      const values = opts.emptyExprs?.has(q.expr) ? [[], []] : [[1700000000000], [1]];
      return [200, { results: { [q.refId]: { status: 200, frames: [{ data: { values } }] } } }];
    }
    return [404, { message: 'not found' }];
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body: body ? (JSON.parse(body) as Recorded['body']) : undefined,
      });
      const [status, payload] = reply(req, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  return { server, requests };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The admin login, the committed dashboards, and the fake Grafana of the running test. */
function fakeGrafanaFixture() {
  const auth = { user: 'admin', password: 's3cret' };
  const dashboards = readDashboards();
  let fake: ReturnType<typeof fakeGrafana> | undefined;
  afterEach(() => fake?.server.close());
  return {
    auth,
    dashboards,
    get fake() {
      return fake;
    },
    set fake(value: ReturnType<typeof fakeGrafana> | undefined) {
      fake = value;
    },
  };
}

function grafanaRequests(f: ReturnType<typeof fakeGrafanaFixture>): void {
  it('asks for health, datasources, every dashboard by uid and every panel query, with the admin login', async () => {
    f.fake = fakeGrafana({});
    const results = await grafanaChecks(await listen(f.fake.server), f.auth, f.dashboards);
    assert.deepEqual(
      results.filter((r) => r.outcome !== 'pass'),
      [],
    );
    const expected = `Basic ${Buffer.from('admin:s3cret').toString('base64')}`;
    const api = f.fake.requests.filter((r) => r.url !== '/api/health'); // public
    assert.ok(
      api.every((r) => r.authorization === expected),
      'every API request logs in',
    );
    const urls = f.fake.requests.map((r) => `${r.method} ${r.url}`);
    for (const d of f.dashboards)
      assert.ok(urls.includes(`GET /api/dashboards/uid/${d.uid}`), d.uid);
    for (const uid of ['prometheus', 'jaeger'])
      assert.ok(urls.includes(`GET /api/datasources/uid/${uid}/health`));
    assert.ok(urls.includes('GET /api/datasources/proxy/uid/alertmanager/api/v2/status'));
    const sent = f.fake.requests.filter((r) => r.url === '/api/ds/query');
    assert.equal(sent.length, grafanaQueries(f.dashboards).length);
  });

  it('sends each panel query with its datasource, instant flag and variables substituted', () => {
    const queries = grafanaQueries(f.dashboards);
    assert.ok(queries.length > 20, `${queries.length} panel queries`);
    assert.match(JSON.stringify(f.dashboards), /agent=~\\"\$agent\\"/, 'a panel filters on $agent');
    const exprs = queries.map((q) => String(q.body.queries[0]?.expr));
    assert.ok(
      exprs.some((e) => e.includes('agent=~".*"')),
      '$agent is sent as .* ("All")',
    );
    for (const q of queries) {
      const sent = q.body.queries[0] as {
        expr: string;
        datasource: unknown;
        instant: boolean;
        range: boolean;
      };
      assert.deepEqual(sent.datasource, { type: 'prometheus', uid: 'prometheus' });
      // Only Grafana's own macros may be left: it expands them, not a dashboard's variables.
      for (const left of sent.expr.match(/\$\{?\w+/g) ?? [])
        assert.match(left, /^\$\{?__(rate_)?(interval|range)/, sent.expr);
      assert.notEqual(sent.instant, sent.range, `${q.dashboard} / ${q.panel}: instant xor range`);
      assert.deepEqual([q.body.from, q.body.to], ['now-1h', 'now']);
    }
    assert.ok(
      queries.some((q) =>
        (q.body.queries[0] as { expr: string }).expr.includes('$__rate_interval'),
      ),
    );
  });
}

function grafanaFailures(f: ReturnType<typeof fakeGrafanaFixture>): void {
  it('fails the dashboard whose panel gets no data and the datasource whose health check fails; a datasource without one is tried through the proxy', async () => {
    const victim = grafanaQueries(f.dashboards)[0]!;
    const expr = (victim.body.queries[0] as { expr: string }).expr;
    f.fake = fakeGrafana({
      emptyExprs: new Set([expr]),
      unhealthy: 'prometheus',
      noHealthApi: 'jaeger',
    });
    const results = await grafanaChecks(await listen(f.fake.server), f.auth, f.dashboards);
    const failed = results.filter((r) => r.outcome === 'fail');
    assert.equal(failed.length, 2, JSON.stringify(failed, null, 1));
    assert.match(
      failed.find((r) => r.name.includes('prometheus'))?.detail ?? '',
      /400 .*connection refused/,
    );
    const jaeger = results.find((r) => r.name === 'Grafana datasource jaeger healthy');
    assert.equal(jaeger?.outcome, 'pass', JSON.stringify(jaeger));
    assert.match(
      jaeger?.detail ?? '',
      /\/api\/services answers through Grafana's datasource proxy/,
    );
    const panel = failed.find((r) => r.name.includes(victim.dashboard));
    assert.ok(
      panel?.detail.includes(`"${victim.panel}" [${victim.refId}]: no data`),
      panel?.detail,
    );
  });
}

describe("make smoke: Grafana checks against a local fake (request shapes only; live: the workflow's compose job)", function () {
  // Every panel query of every dashboard goes over HTTP to the fake: bounded, but more
  // than mocha's 2 s default on a loaded 2-core machine.
  this.timeout(15_000);
  const f = fakeGrafanaFixture();
  grafanaRequests(f);
  grafanaFailures(f);
});
