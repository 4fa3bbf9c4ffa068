import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  expandQuery,
  metricNames,
  paddingIn,
  panelQueries,
  syntaxErrors,
  type TemplateVariable,
} from '../lib/panel-queries.ts';

const all = (name: string, allValue?: string): TemplateVariable => ({
  name,
  type: 'query',
  includeAll: true,
  current: { value: ['$__all'] },
  ...(allValue === undefined ? {} : { allValue }),
});

describe('expandQuery', () => {
  const at15s = { scrapeIntervalSeconds: 15 };

  it('sets $__interval to the scrape interval and $__rate_interval to four of them', () => {
    assert.equal(
      expandQuery('rate(x[$__rate_interval]) + rate(y[$__interval])', [], at15s),
      'rate(x[60s]) + rate(y[15s])',
    );
    assert.equal(
      expandQuery('rate(x[$__rate_interval])', [], { scrapeIntervalSeconds: 1 }),
      'rate(x[4s])',
    );
  });

  it('writes sub-second intervals in milliseconds, which PromQL accepts', () => {
    assert.equal(
      expandQuery('rate(x[$__rate_interval]) + rate(y[$__interval])', [], {
        scrapeIntervalSeconds: 0.25,
      }),
      'rate(x[1s]) + rate(y[250ms])',
    );
  });

  it('sets $__range to the given range, an hour by default', () => {
    assert.equal(expandQuery('increase(x[$__range])', [], at15s), 'increase(x[3600s])');
    assert.equal(
      expandQuery('increase(x[$__range])', [], { ...at15s, rangeSeconds: 120 }),
      'increase(x[120s])',
    );
  });

  it('matches whole names: $__range_x is a variable, not $__range followed by _x', () => {
    assert.equal(
      expandQuery(
        'x{a=~"$__range_x"}',
        [{ name: '__range_x', type: 'constant', current: { value: 'v' } }],
        at15s,
      ),
      'x{a=~"v"}',
    );
  });

  it('expands "All" to the allValue, in both $name and ${name} syntax', () => {
    assert.equal(
      expandQuery(
        'x{agent=~"$agent", model=~"${model}"}',
        [all('agent', '.*'), all('model', '.*')],
        at15s,
      ),
      'x{agent=~".*", model=~".*"}',
    );
  });
});

describe('expandQuery', () => {
  const at15s = { scrapeIntervalSeconds: 15 };

  it('expands one selected value as itself and several as a regex alternation', () => {
    const one: TemplateVariable = {
      name: 'route',
      type: 'query',
      current: { value: ['/v1/agents'] },
    };
    const two: TemplateVariable = { name: 'model', type: 'query', current: { value: ['a', 'b'] } };
    const text: TemplateVariable = { name: 'tier', type: 'custom', current: { value: 'free' } };
    assert.equal(
      expandQuery('x{route=~"$route", model=~"$model", tier="$tier"}', [one, two, text], at15s),
      'x{route=~"/v1/agents", model=~"(a|b)", tier="free"}',
    );
  });

  it('refuses what it cannot expand the way Grafana would', () => {
    assert.throws(
      () => expandQuery('x{a=~"$agent"}', [all('agent')], at15s),
      /without an allValue/,
    );
    assert.throws(() => expandQuery('rate(x[$__interval_ms])', [], at15s), /no such macro/);
    assert.throws(
      () => expandQuery('x{a=~"$nope"}', [], at15s),
      /no such macro or template variable/,
    );
    assert.throws(
      () => expandQuery('x{a=~"${agent:csv}"}', [all('agent', '.*')], at15s),
      /formats/,
    );
    assert.throws(() => expandQuery('x', [], { scrapeIntervalSeconds: 0 }), /positive/);
  });
});

/** A dashboard with a collapsed row and a target whose own datasource wins over its panel's. */
const DASHBOARD = {
  uid: 'd1',
  title: 'D1',
  templating: { list: [all('agent', '.*')] },
  panels: [
    {
      type: 'row',
      title: 'collapsed',
      panels: [
        {
          type: 'timeseries',
          title: 'inside a row',
          datasource: { type: 'prometheus', uid: 'prometheus' },
          targets: [
            {
              refId: 'A',
              expr: 'rate(a_total{agent=~"$agent"}[$__rate_interval])',
              exemplar: true,
            },
          ],
        },
      ],
    },
    {
      type: 'stat',
      title: 'target datasource wins',
      datasource: { type: 'jaeger', uid: 'jaeger' },
      targets: [
        { refId: 'A', query: 'a trace search' },
        { refId: 'B', expr: 'b', datasource: { type: 'prometheus', uid: 'prometheus' } },
      ],
    },
  ],
};

describe('panelQueries', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'panel-queries-'));
    writeFileSync(join(dir, 'd1.json'), JSON.stringify(DASHBOARD));
    writeFileSync(join(dir, 'notes.txt'), 'not a dashboard');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns every Prometheus target, rows included, expanded for the given scrape interval', () => {
    assert.deepEqual(panelQueries({ scrapeIntervalSeconds: 1 }, dir), [
      {
        dashboard: 'd1',
        panel: 'inside a row',
        refId: 'A',
        expr: 'rate(a_total{agent=~"$agent"}[$__rate_interval])',
        expanded: 'rate(a_total{agent=~".*"}[4s])',
        exemplar: true,
      },
      {
        dashboard: 'd1',
        panel: 'target datasource wins',
        refId: 'B',
        expr: 'b',
        expanded: 'b',
        exemplar: false,
      },
    ]);
  });
});

describe('PromQL checks', () => {
  it('reports syntax errors and accepts valid queries', () => {
    assert.deepEqual(syntaxErrors('sum by (le) (rate(x_bucket{a="b"}[5m]))'), []);
    assert.notDeepEqual(syntaxErrors('sum(rate(x[5m])'), []);
    assert.notDeepEqual(syntaxErrors('rate(x[$__rate_interval])'), []);
    assert.deepEqual(syntaxErrors('  '), ['empty query']);
  });

  it('finds metric names, including exact __name__ matchers, and flags regex names', () => {
    assert.deepEqual(
      metricNames('a / on() group_left() b{x="1"} + {__name__="c", y="2"} + sum(rate(a[1m]))'),
      { names: ['a', 'b', 'c'], errors: [] },
    );
    const regex = metricNames('rate({__name__=~"otelcol_.*"}[5m])');
    assert.deepEqual(regex.names, []);
    assert.equal(regex.errors.length, 1);
  });

  it('finds padding with constant vectors and leaves unions of real series alone', () => {
    assert.equal(paddingIn('sum(rate(x[5m])) or vector(0)').length, 1);
    assert.equal(paddingIn('sum(rate(x[5m])) or on() vector(1)').length, 1);
    assert.equal(paddingIn('(vector(0) or (sum(x)))').length, 1);
    assert.equal(paddingIn('a / (b or (vector(0)))').length, 1);
    assert.deepEqual(paddingIn('a or label_replace(b, "o", "x", "", "")'), []);
    assert.deepEqual(paddingIn('a or 0 * b'), []);
    assert.deepEqual(paddingIn('vector(1)'), []);
  });
});
