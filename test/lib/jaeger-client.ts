// Reads traces back from Jaeger v2's query API for the trace tests: the OTLP-shaped v3 API
// (`/api/v3/traces/<id>`), flattened to one list of spans with plain attribute values, and the
// older `/api/traces/<id>` that Grafana's Jaeger data source follows from an exemplar.

const CALL_TIMEOUT_MS = 5_000;

/** OTLP span kinds as the v3 API returns them (numbers). */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface JaegerSpan {
  traceId: string;
  spanId: string;
  /** Empty for the root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, AttributeValue>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}

interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

interface V3Response {
  result?: {
    resourceSpans?: {
      resource?: { attributes?: OtlpKeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          attributes?: OtlpKeyValue[];
        }[];
      }[];
    }[];
  };
}

function plain(v: OtlpAnyValue): AttributeValue {
  if (v.stringValue !== undefined) return v.stringValue;
  // OTLP/JSON writes 64-bit integers as strings.
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}

const attributes = (kvs: OtlpKeyValue[] = []) =>
  Object.fromEntries(kvs.map((kv) => [kv.key, plain(kv.value)]));

async function get(url: string): Promise<Response> {
  try {
    return await fetch(url, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`GET ${url}: no answer (${cause})`, { cause: err });
  }
}

export class JaegerClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  /** Every span Jaeger holds for the trace, or undefined when it has none (404). */
  async trace(traceId: string): Promise<JaegerSpan[] | undefined> {
    const res = await get(`${this.url}/api/v3/traces/${traceId}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`Jaeger v3 trace ${traceId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as V3Response;
    return (body.result?.resourceSpans ?? []).flatMap((rs) => {
      const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
      return (rs.scopeSpans ?? []).flatMap((ss) =>
        (ss.spans ?? []).map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          service,
          attributes: attributes(s.attributes),
        })),
      );
    });
  }

  /** How many spans the legacy API (the one Grafana's exemplar links open) returns; 0 on 404. */
  async legacySpanCount(traceId: string): Promise<number> {
    const res = await get(`${this.url}/api/traces/${traceId}`);
    if (res.status === 404) return 0;
    if (!res.ok) throw new Error(`Jaeger trace ${traceId}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data?: { spans?: unknown[] }[] };
    return (body.data ?? []).reduce((n, t) => n + (t.spans?.length ?? 0), 0);
  }
}
