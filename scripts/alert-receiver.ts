// The local alert receiver as a program: the `alert-receiver` compose service runs it, and so can
// anyone without Docker. Settings from the environment:
//   RECEIVER_PORT (default 9095), RECEIVER_HOST (default 127.0.0.1; the container uses 0.0.0.0),
//   RECEIVER_MAX_ALERTS (default 500).
// Every stored alert is printed on stdout, so `make logs SERVICE=alert-receiver` shows them too;
// `make alerts` asks the running receiver for the list.

import { startAlertReceiver } from './lib/alert-receiver.ts';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const receiver = await startAlertReceiver({
  port: intFromEnv('RECEIVER_PORT', 9095),
  host: process.env.RECEIVER_HOST || '127.0.0.1',
  maxAlerts: intFromEnv('RECEIVER_MAX_ALERTS', 500) || 500,
  log: (line) => console.log(line),
});
console.log(`alert receiver listening on ${receiver.url} (webhook: POST ${receiver.webhookUrl})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    receiver.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
