// Run as its own process by test/runtime-metrics.test.ts (node --expose-gc): scrapes the
// service's registry over and over while handles come and go around it, and exits 0 when every
// scrape returned. The handles are those the service and its tests make: HTTP servers and
// their sockets, timers, and event-loop-delay monitors (HealthMonitor), collected by the
// garbage collector while their libuv handles are still closing.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { metrics } from '../../src/telemetry/metrics';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const rounds = Number(process.argv[2] ?? 50);

async function churn(): Promise<void> {
  const server = createServer((_req, res) => res.end('x'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const sockets = Array.from({ length: 10 }, () =>
    connect(port, '127.0.0.1').on('error', () => {}),
  );
  const timers = Array.from({ length: 20 }, () => setTimeout(() => {}, 10_000));
  for (let i = 0; i < 50; i++) {
    const monitor = monitorEventLoopDelay({ resolution: 10 });
    if (i % 2 === 0) {
      monitor.enable();
      monitor.disable();
    }
  }
  await new Promise((resolve) => setImmediate(resolve));
  for (const socket of sockets) socket.destroy();
  for (const timer of timers) clearTimeout(timer);
  server.close();
  server.closeAllConnections();
}

async function main(): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await churn();
    gc!();
    // Right after a collection, before the closing handles' callbacks have run.
    await metrics.registry.metrics();
  }
  console.log(`${rounds} scrapes`);
}

void main();
