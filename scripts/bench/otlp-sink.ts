// A local OTLP/HTTP endpoint that accepts every export (traces, metrics and logs, JSON or
// protobuf) and keeps only counts per path: the benchmark measures what exporting costs the
// service, not what a real backend costs. It runs as its own
// process (`node scripts/bench/otlp-sink.ts`) so that reading hundreds of MiB of spans does not
// share an event loop with the load generator.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

export interface SinkStats {
  exports: number;
  bytes: number;
  /** Exports per request path: /v1/traces, /v1/metrics, /v1/logs. */
  byPath: Record<string, number>;
}

export interface OtlpSink {
  url: string;
  stats: () => Promise<SinkStats>;
  close: () => Promise<void>;
}

function serve(): void {
  const stats: SinkStats = { exports: 0, bytes: 0, byPath: {} };
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/stats') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(stats));
      return;
    }
    request.on('data', (chunk: Buffer) => (stats.bytes += chunk.length));
    request.on('end', () => {
      stats.exports += 1;
      const path = request.url ?? '/';
      stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
      // An empty Export*ServiceResponse is an empty body in both encodings, for every signal.
      response.writeHead(200, {
        'content-type': request.headers['content-type'] ?? 'application/json',
      });
      response.end();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`http://127.0.0.1:${port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

/** Starts the sink in a child process and resolves once it listens. */
export async function startOtlpSink(): Promise<OtlpSink> {
  const child = spawn(process.execPath, [import.meta.filename], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`OTLP sink exited with ${code}`)));
  });
  return {
    url,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as SinkStats,
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] === import.meta.filename) serve();
