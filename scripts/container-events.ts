// Each container's OOM kills and restarts as Prometheus metrics (scripts/lib/container-events.ts
// says what and how): the `container-events` compose service of the host-metrics profile runs
// it. Settings from the environment:
//   DOCKER_SOCKET  the Engine's socket (default /var/run/docker.sock)
//   EVENTS_PORT (default 9339), EVENTS_HOST (default 127.0.0.1; the container uses 0.0.0.0)

import { startContainerEvents } from './lib/container-events.ts';

const port = Number(process.env.EVENTS_PORT || 9339);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`EVENTS_PORT must be a port number, got "${process.env.EVENTS_PORT}"`);
  process.exit(2);
}
const exporter = await startContainerEvents({
  socket: process.env.DOCKER_SOCKET || '/var/run/docker.sock',
  host: process.env.EVENTS_HOST || '127.0.0.1',
  port,
  log: (line) => console.log(line),
});
console.log(`container events exporter listening on ${exporter.url}/metrics`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    exporter.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
