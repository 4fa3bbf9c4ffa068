// A small control API on loopback for a running native stack, so that other processes (the
// service-down scenario, tests) can stop and start the app that `make native` supervises:
//   POST /apps/app/stop    stop the app (SIGTERM, as `docker compose stop app` does)
//   POST /apps/app/start   start it again and wait until it is ready
//   GET  /status           the supervised processes with pid, ports and exit status
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stack } from './stack.ts';

export interface ControlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startControl(stack: Stack, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify(body) + '\n');
    const route = `${req.method} ${req.url}`;
    const act = (action: () => Promise<void>, done: string) =>
      action().then(
        () => reply(200, { ok: true, app: done }),
        (err: Error) => reply(500, { ok: false, error: err.message }),
      );
    if (route === 'POST /apps/app/stop') void act(stack.stopApp, 'stopped');
    else if (route === 'POST /apps/app/start') void act(stack.startApp, 'started');
    else if (route === 'GET /status')
      reply(200, { processes: stack.processes(), urls: stack.urls });
    else reply(404, { error: 'not found: POST /apps/app/stop, POST /apps/app/start, GET /status' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
