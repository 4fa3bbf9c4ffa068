// The stack's components, one row each: the one place their names (the compose service names,
// one spelling), the ports they listen on inside the compose network, and the variables that
// move or override those ports are written. Everything else derives from this table:
// - the resolver (endpoints.ts): a listener with an `endpoint` is a URL the scripts reach, by
//   the flag --<endpoint>-url, its `urlVar`, `make native`'s env file, or compose's host port
//   (`hostPortVar` in `.env`, default `hostPort`), and on the compose network as
//   http://<component>:<port>; the flags and the help text list them all;
// - `make native` (stack/): which `host:port` keys it plans ports for, which of them keep their
//   number (`userFacing`), and the URLs it hands the tests and writes to its env file;
// - the config rewrite (stack/rewrite.ts): an address on a component's name must be mapped;
// - `make open` (urls.ts): a listener that `opens` is a line of its printout, in the table's order.
// A new component is one row here, its service block in docker-compose.yml, and (to run under
// `make native`) its process spec in stack/components.ts: scripts/README.md shows the steps.

export interface Listener {
  /** Its port inside the compose network: `<component>:<port>` is its key everywhere. */
  readonly port: number;
  /** The name the scripts reach it by: a key of the resolver's endpoints, the flag's stem. */
  readonly endpoint?: string;
  /** The `.env` variable compose publishes it on (on 127.0.0.1). */
  readonly hostPortVar?: string;
  /** Its host port when `.env` does not say, if not `port`. */
  readonly hostPort?: number;
  /** The variable that overrides its URL, also its key in `make native`'s env file. */
  readonly urlVar?: string;
  /** What it is, for the scripts' help. */
  readonly about?: string;
  /** A person opens it or points a client at it: `make native` keeps its number or fails. */
  readonly userFacing?: boolean;
  /** Its line in `make open`'s printout of the stack's URLs. */
  readonly opens?: Opens;
}

/** What `make open` knows of the stack it prints, for a note that depends on it. */
export interface OpenedStack {
  /** A `make native` runs it (else compose). */
  native: boolean;
  /** The file the stack's secrets are in (`.env`), as the person reads its name. */
  envFile: string;
  grafanaUser: string;
  /** Whether Grafana's dashboards open without a login. */
  grafanaAnonymous: boolean;
  /** Each endpoint's URL as a person opens it on the host. */
  shown: Readonly<Record<string, string>>;
}

/** A line of `make open`: its title, the path a person opens on the listener, what it is. */
export interface Opens {
  readonly title: string;
  readonly path?: string;
  readonly note: string | ((stack: OpenedStack) => string);
}

export interface ComponentRow {
  readonly listens: readonly Listener[];
  /** Runs under `make native` (Grafana has no native build). */
  readonly native: boolean;
  /** Runs under `make native` only where its prerequisite is (python-agent: its venv); a
   * running `make native` names it in its env file when it does. */
  readonly nativeIfPresent?: boolean;
  /** Part of the telemetry pipeline, which `make native` starts whole or not at all. */
  readonly telemetry?: boolean;
  /** It also listens where its config says (health, own metrics): read from the config. */
  readonly portsFromConfig?: boolean;
}

export const STACK_COMPONENTS = {
  grafana: {
    native: false,
    listens: [
      {
        port: 3000,
        hostPort: 3001,
        endpoint: 'grafana',
        hostPortVar: 'GRAFANA_PORT',
        urlVar: 'GRAFANA_URL',
        about: 'compose only',
        opens: {
          title: 'Grafana',
          note: (s) =>
            `${s.grafanaAnonymous ? 'dashboards open without login; ' : ''}` +
            `admin: ${s.grafanaUser}, password: GRAFANA_ADMIN_PASSWORD in ${s.envFile}`,
        },
      },
    ],
  },
  app: {
    native: true,
    listens: [
      {
        port: 8000,
        endpoint: 'app',
        hostPortVar: 'APP_PORT',
        urlVar: 'APP_URL',
        about: 'the API',
        userFacing: true,
        opens: {
          title: 'Agent API',
          path: '/v1/agents',
          note: (s) =>
            s.native
              ? 'header X-API-Key: a key make native printed (API_KEYS in its env file)'
              : 'header X-API-Key: a key of API_KEYS in .env (make configure generates them)',
        },
      },
      {
        port: 9464,
        endpoint: 'management',
        hostPortVar: 'APP_MANAGEMENT_PORT',
        urlVar: 'APP_MANAGEMENT_URL',
        userFacing: true,
        about: "the app's /metrics, /health*, /admin/*",
        opens: {
          title: 'Agent metrics',
          path: '/metrics',
          note: "the app's management port: /metrics, /health, /admin/chaos (ADMIN_TOKEN)",
        },
      },
      // The simulated provider's OpenAI-compatible listener, which python-agent calls; compose
      // does not publish it.
      { port: 8001 },
    ],
  },
  'python-agent': {
    native: true,
    nativeIfPresent: true,
    listens: [
      {
        port: 8010,
        endpoint: 'pythonAgent',
        hostPortVar: 'PYTHON_AGENT_PORT',
        urlVar: 'PYTHON_AGENT_URL',
        about: 'examples/python-agent',
        userFacing: true,
        opens: {
          title: 'Python agent',
          path: '/v1/agents/assistant/runs',
          note: 'the Python example service (POST a run, no key): OTLP only, through the Collector',
        },
      },
    ],
  },
  prometheus: {
    native: true,
    listens: [
      {
        port: 9090,
        endpoint: 'prometheus',
        hostPortVar: 'PROMETHEUS_PORT',
        urlVar: 'PROMETHEUS_URL',
        userFacing: true,
        opens: { title: 'Prometheus', note: 'queries, targets, alerts' },
      },
    ],
  },
  alertmanager: {
    native: true,
    listens: [
      {
        port: 9093,
        endpoint: 'alertmanager',
        hostPortVar: 'ALERTMANAGER_PORT',
        urlVar: 'ALERTMANAGER_URL',
        userFacing: true,
        opens: { title: 'Alertmanager', note: 'routing, silences' },
      },
    ],
  },
  /** The local webhook receiver (scripts/lib/alert-receiver.ts): delivered alerts. */
  'alert-receiver': {
    native: true,
    listens: [
      {
        port: 9095,
        endpoint: 'receiver',
        hostPortVar: 'ALERT_RECEIVER_PORT',
        urlVar: 'RECEIVER_URL',
        about: 'delivered alerts',
        userFacing: true,
        opens: {
          title: 'Alert receiver',
          path: '/alerts',
          note: 'delivered alerts as JSON; `make alerts` prints them',
        },
      },
    ],
  },
  jaeger: {
    native: true,
    telemetry: true,
    portsFromConfig: true,
    listens: [
      {
        port: 16686,
        endpoint: 'jaeger',
        hostPortVar: 'JAEGER_PORT',
        urlVar: 'JAEGER_URL',
        userFacing: true,
        opens: { title: 'Jaeger', note: 'traces; Monitor tab for span metrics' },
      },
    ],
  },
  victorialogs: {
    native: true,
    telemetry: true,
    listens: [
      {
        port: 9428,
        endpoint: 'victorialogs',
        hostPortVar: 'VICTORIALOGS_PORT',
        urlVar: 'VICTORIALOGS_URL',
        about: 'the log store: LogsQL under /select/logsql/',
        userFacing: true,
        opens: {
          title: 'VictoriaLogs',
          path: '/select/vmui',
          note: (s) =>
            s.native ? 'logs (LogsQL)' : 'logs (LogsQL); in Grafana: Explore → VictoriaLogs',
        },
      },
    ],
  },
  'otel-collector': {
    native: true,
    telemetry: true,
    portsFromConfig: true,
    listens: [
      {
        port: 4318,
        endpoint: 'otlpHttp',
        hostPortVar: 'OTLP_HTTP_PORT',
        urlVar: 'OTLP_HTTP_URL',
        about: 'OTLP/HTTP',
        userFacing: true,
        opens: {
          title: 'OTLP',
          note: (s) =>
            `OTLP/HTTP for your own services; gRPC on ${s.shown.otlpGrpc?.replace(/^http:\/\//, '')}`,
        },
      },
      {
        port: 4317,
        endpoint: 'otlpGrpc',
        hostPortVar: 'OTLP_GRPC_PORT',
        urlVar: 'OTLP_GRPC_URL',
        about: 'OTLP/gRPC',
        userFacing: true,
      },
    ],
  },
  'blackbox-exporter': { native: true, listens: [{ port: 9115 }] },
  'node-exporter': { native: true, listens: [{ port: 9100 }] },
} as const satisfies Record<string, ComponentRow>;

export type StackComponent = keyof typeof STACK_COMPONENTS;
type AnyListener = (typeof STACK_COMPONENTS)[StackComponent]['listens'][number];
/** The names the scripts reach the stack's URLs by (`app`, `management`, `otlpHttp`, …). */
export type Endpoint = Extract<AnyListener, { endpoint: string }>['endpoint'];

/** `otlpHttp` → `otlp-http`: the flag's spelling of an endpoint's name. */
type Kebab<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `-${Lowercase<Head>}`}${Kebab<Tail>}`
  : S;
export type EndpointFlag = `${Kebab<Endpoint>}-url`;

export const COMPONENT_NAMES = Object.keys(STACK_COMPONENTS) as StackComponent[];

/** Every listener, with its component and key (`prometheus:9090`). */
export const LISTENERS = COMPONENT_NAMES.flatMap((component) => {
  const row: ComponentRow = STACK_COMPONENTS[component];
  return row.listens.map((l) => ({ ...l, component, key: `${component}:${l.port}` }));
});

/** One endpoint the scripts reach: where compose puts it on the host and on its network. */
export interface EndpointRow {
  component: StackComponent;
  /** The default host port (compose's, `make native`'s). */
  port: number;
  portVar: string;
  urlVar: string;
  /** Its URL on the compose network: http://<component>:<port>. */
  network: string;
  /** The compose `host:port` key `make native` plans a local port for. */
  key: string;
  flag: EndpointFlag;
  about?: string;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export const ENDPOINTS = Object.fromEntries(
  LISTENERS.filter((l) => l.endpoint).map((l) => [
    l.endpoint,
    {
      ...{ component: l.component, port: l.hostPort ?? l.port, portVar: l.hostPortVar! },
      ...{ urlVar: l.urlVar!, network: `http://${l.component}:${l.port}`, key: l.key },
      ...{ flag: `${kebab(l.endpoint!)}-url` as EndpointFlag, about: l.about },
    },
  ]),
) as Record<Endpoint, EndpointRow>;

export const ENDPOINT_NAMES = Object.keys(ENDPOINTS) as Endpoint[];

/** `make open`'s lines: each endpoint that `opens`, in the table's order. */
export const OPENED_ENDPOINTS = LISTENERS.flatMap((l) =>
  l.endpoint && 'opens' in l ? [{ endpoint: l.endpoint as Endpoint, opens: l.opens as Opens }] : [],
);

/** Endpoints a running `make native` may lack: of components it never runs or runs only where
 * their prerequisite is. It names those it runs in its env file. */
export const NOT_ALWAYS_NATIVE = ENDPOINT_NAMES.filter((e) => {
  const row: ComponentRow = STACK_COMPONENTS[ENDPOINTS[e].component];
  return !row.native || row.nativeIfPresent === true;
});

/** Keys of the ports a person uses: under `make native` they keep their number or it fails. */
export const USER_FACING_KEYS = new Set(LISTENERS.filter((l) => l.userFacing).map((l) => l.key));

/** The components `make native` can run, in the table's order. */
export const NATIVE_COMPONENTS = COMPONENT_NAMES.filter((c) => STACK_COMPONENTS[c].native);

/** Whether a component belongs to the telemetry pipeline (started whole or not at all). */
export const isTelemetryComponent = (c: StackComponent): boolean =>
  (STACK_COMPONENTS[c] as ComponentRow).telemetry === true;

/** Whether a component listens on more ports than its row says (its config's own). */
export const portsFromConfig = (c: StackComponent): boolean =>
  (STACK_COMPONENTS[c] as ComponentRow).portsFromConfig === true;
