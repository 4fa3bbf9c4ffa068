// The one way the tooling calls an HTTP API: a short time limit on every call (a script polls,
// and one hung request must not stall it) and an error that says which call failed and why.

const CALL_TIMEOUT_MS = 5_000;

export class HttpError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export async function call(url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new HttpError(`${init.method ?? 'GET'} ${url}: no answer (${cause})`, 0);
  }
  if (!res.ok) {
    const text = (await res.text()).slice(0, 300);
    throw new HttpError(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`, res.status);
  }
  return res;
}

export async function json<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await call(url, init)).json()) as T;
}
