// The Node.js runtime metrics on /metrics must never take the process down. prom-client's
// nodejs_active_handles and nodejs_active_requests collectors call process._getActiveHandles()
// and _getActiveRequests(), private APIs that abort the process (a C++ CHECK, SIGABRT) when
// they meet a handle whose JavaScript owner was just collected; the public
// process.getActiveResourcesInfo() reads names only. A process of its own scrapes while
// servers, sockets, timers and event-loop monitors come and go.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { metrics } from '../src/telemetry/metrics';

describe('runtime metrics', function () {
  this.timeout(60_000);

  it('survive scrapes while handles come and go (the process is not aborted)', () => {
    const script = join(__dirname, 'support/scrape-churn.js');
    const result = spawnSync(process.execPath, ['--expose-gc', script, '50'], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(
      result.signal,
      null,
      `killed by ${result.signal}:\n${result.stderr.slice(0, 2000)}`,
    );
    assert.equal(result.status, 0, result.stderr.slice(0, 2000));
    assert.match(result.stdout, /50 scrapes/);
  });

  it('count active resources with the public process.getActiveResourcesInfo()', async () => {
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    assert.ok(names.includes('nodejs_active_resources_total'));
    for (const privateApi of ['nodejs_active_handles', 'nodejs_active_requests']) {
      assert.ok(!names.some((n) => n.startsWith(privateApi)), `${privateApi} is still collected`);
    }
  });
});
