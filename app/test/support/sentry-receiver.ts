// Stands in for sentry.io: accepts envelopes the real SDK transport posts to
// /api/<project>/envelope/ and keeps their raw text and parsed items.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Envelope {
  raw: string;
  items: { type: string; payload: unknown }[];
}

export interface SentryReceiver {
  dsn: string;
  envelopes: Envelope[];
  events(): Record<string, unknown>[];
  close(): Promise<void>;
}

function parseEnvelope(raw: string): Envelope {
  // Line 1: envelope header; then pairs of item header and payload lines.
  const lines = raw.split('\n').filter((line) => line !== '');
  const items: Envelope['items'] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const header = JSON.parse(lines[i]!) as { type: string };
    let payload: unknown = lines[i + 1];
    try {
      payload = JSON.parse(lines[i + 1]!);
    } catch {
      // attachments and other non-JSON payloads stay text
    }
    items.push({ type: header.type, payload });
  }
  return { raw, items };
}

export async function startSentryReceiver(): Promise<SentryReceiver> {
  const envelopes: Envelope[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && /^\/api\/\d+\/envelope\/?/.test(req.url ?? '')) {
        envelopes.push(parseEnvelope(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    dsn: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${port}/42`,
    envelopes,
    events: () =>
      envelopes.flatMap((envelope) =>
        envelope.items
          .filter((item) => item.type === 'event')
          .map((item) => item.payload as Record<string, unknown>),
      ),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
