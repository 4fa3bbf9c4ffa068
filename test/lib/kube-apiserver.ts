// A real Kubernetes API server for the chart's validation: etcd and kube-apiserver (pinned
// builds, `make tools`) on 127.0.0.1 with free ports and a temporary data directory, token
// authentication with AlwaysAllow authorization, no controllers and no nodes. Enough for
// `kubectl apply --server-side --dry-run=server`: defaulting, schema and CRD validation,
// immutable fields and admission (Pod Security) run exactly as in a cluster.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, start, type RunResult, type Started } from './programs.ts';
import { requireTool } from './helm.ts';

export interface ApiServer {
  /** kubectl against this server. */
  kubectl(args: string[], timeoutMs?: number): RunResult;
  stop(): Promise<void>;
}

async function startEtcd(dir: string): Promise<{ proc: Started; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const proc = start(requireTool('etcd'), [
    '--name=validate',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=validate=http://127.0.0.1:${peer}`,
    '--log-level=error',
    // Test data: no fsync per write.
    '--unsafe-no-fsync',
  ]);
  return { proc, url };
}

function writeCredentials(dir: string, token: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'tokens.csv'), `${token},validator,1,"system:masters"\n`);
}

function apiServerArgs(dir: string, etcdUrl: string, port: number): string[] {
  return [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=AlwaysAllow',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.96.0.0/24',
    // No kubernetes Service endpoints to keep on loopback.
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
  ];
}

function writeKubeconfig(dir: string, port: number, token: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'validate',
          cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'validator', user: { token } }],
      contexts: [{ name: 'validate', context: { cluster: 'validate', user: 'validator' } }],
      'current-context': 'validate',
    }),
  );
  return file;
}

async function waitReady(server: ApiServer, procs: Started[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = server.kubectl(['get', '--raw=/readyz', '--request-timeout=5s'], 10_000);
      if (r.code === 0) return;
      last = r.output;
    } catch (err) {
      last = (err as Error).message; // a kubectl that hung while the server was starting
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const logs = procs.map((p) => p.log().slice(-3000)).join('\n---\n');
  throw new Error(`kube-apiserver not ready within ${timeoutMs} ms (${last}):\n${logs}`);
}

/** Starts etcd and kube-apiserver; resolves once /readyz answers. */
export async function startApiServer(timeoutMs = 60_000): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kube-apiserver-'));
  mkdirSync(join(dir, 'certs'));
  const token = randomBytes(24).toString('hex');
  writeCredentials(dir, token);
  const etcd = await startEtcd(dir);
  const port = await freePort();
  const apiserver = start(requireTool('kube-apiserver'), apiServerArgs(dir, etcd.url, port));
  const kubeconfig = writeKubeconfig(dir, port, token);
  const kubectl = requireTool('kubectl');
  const server: ApiServer = {
    kubectl: (args, timeoutMs = 60_000) =>
      run(kubectl, [`--kubeconfig=${kubeconfig}`, ...args], undefined, timeoutMs),
    async stop() {
      await apiserver.stop();
      await etcd.proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(server, [etcd.proc, apiserver], timeoutMs);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
