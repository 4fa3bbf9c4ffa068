// Reads log records back from VictoriaLogs' LogsQL query API (/select/logsql/query), the API
// Grafana's VictoriaLogs datasource uses: one JSON object per line, every field a string
// (`_msg` the body, `_stream` the stream, the record's own trace_id/span_id and attributes).

const CALL_TIMEOUT_MS = 5_000;

export type LogRow = Record<string, string>;

export class VictoriaLogsClient {
  readonly url: string;
  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  /** The rows `logsql` selects (newest first is not guaranteed: sort where it matters). */
  async query(logsql: string, limit = 1000): Promise<LogRow[]> {
    const params = new URLSearchParams({ query: logsql, limit: String(limit) });
    const res = await fetch(`${this.url}/select/logsql/query?${params}`, {
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`LogsQL ${logsql}: ${res.status} ${await res.text()}`);
    return (await res.text())
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogRow);
  }
}

/** A LogsQL string literal: the value quoted, backslashes and quotes escaped. */
export function logsqlString(value: string): string {
  return JSON.stringify(value);
}
