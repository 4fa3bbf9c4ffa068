import assert from 'node:assert/strict';
import { catalogOf } from '../../scripts/lib/load/catalog.ts';
import {
  authAttack,
  freeBurst,
  makeInput,
  pick,
  RunIds,
  seededRng,
  steady,
  type MixContext,
  type RequestSpec,
} from '../../scripts/lib/load/mix.ts';
import { appCatalog } from '../lib/app-module.ts';

const keys = { free: 'demo-free', pro: 'demo-pro' };

// The service's agents and models, from its own catalog module.
const catalog = appCatalog();

function sample(profile: (c: MixContext) => RequestSpec, n: number, runIds = new RunIds()) {
  const c: MixContext = { rng: seededRng(42), keys, runIds, catalog };
  return Array.from({ length: n }, () => profile(c));
}

const share = <T>(xs: T[], f: (x: T) => boolean) => xs.filter(f).length / xs.length;

describe('load mix', () => {
  it('seeded random sources repeat and pick by weight', () => {
    const a = seededRng(7);
    const b = seededRng(7);
    assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
    const rng = seededRng(1);
    const picks = Array.from({ length: 10_000 }, () =>
      pick(rng, [
        ['x', 3],
        ['y', 1],
      ] as const),
    );
    const x = picks.filter((p) => p === 'x').length / picks.length;
    assert.ok(Math.abs(x - 0.75) < 0.02, `x share ${x}`);
  });

  it('steady: runs, reads and listings on both tiers, mostly pro', () => {
    const runIds = new RunIds();
    runIds.add('run-pro', 'pro');
    runIds.add('run-free', 'free');
    const reqs = sample(steady, 5000, runIds);
    const runs = reqs.filter((r) => r.kind === 'run');
    assert.ok(Math.abs(runs.length / reqs.length - 0.5) < 0.03);
    assert.ok(Math.abs(share(reqs, (r) => r.kind === 'get-run') - 0.3) < 0.03);
    assert.ok(Math.abs(share(reqs, (r) => r.kind === 'list-agents') - 0.2) < 0.03);
    assert.ok(Math.abs(share(reqs, (r) => r.tier === 'free') - 0.3) < 0.03);
    for (const r of reqs) {
      assert.equal(r.headers['x-api-key'], keys[r.tier as 'free' | 'pro']);
    }
    // Every agent and every model appears, and some runs leave the model to the agent.
    const bodies = runs.map(
      (r) => JSON.parse(r.body as string) as { input: string; model?: string },
    );
    for (const agent of catalog.agents)
      assert.ok(
        runs.some((r) => r.path === `/v1/agents/${agent}/runs`),
        agent,
      );
    for (const m of [...catalog.models, undefined]) {
      assert.ok(
        bodies.some((b) => b.model === m),
        String(m),
      );
    }
  });

  it('steady reads a run with the key of the tier that created it', () => {
    const runIds = new RunIds();
    runIds.add('only-pro', 'pro');
    const reads = sample(steady, 3000, runIds).filter((r) => r.kind === 'get-run');
    assert.ok(reads.length > 0);
    for (const r of reads) {
      assert.equal(r.tier, 'pro', 'no free-tier run exists, so no free-tier read');
      assert.equal(r.path, '/v1/runs/only-pro');
    }
  });
});

describe('load mix', () => {
  it('without known runs, a read becomes a run', () => {
    assert.equal(sample(steady, 2000).filter((r) => r.kind === 'get-run').length, 0);
  });

  it('inputs vary in length, and popular prompts repeat (cache hits)', () => {
    const rng = seededRng(3);
    const inputs = Array.from({ length: 2000 }, () => makeInput(rng));
    const lengths = inputs.map((i) => i.length);
    assert.ok(Math.min(...lengths) < 60, 'some short inputs');
    assert.ok(Math.max(...lengths) > 2000, 'some long inputs');
    const counts = new Map<string, number>();
    for (const i of inputs) counts.set(i, (counts.get(i) ?? 0) + 1);
    const repeated = [...counts.values()].filter((c) => c > 20).length;
    assert.ok(repeated >= 3, 'popular prompts come back often');
  });

  it('auth-attack never sends a valid key', () => {
    const reqs = sample(authAttack, 2000);
    for (const r of reqs) {
      assert.ok(r.kind === 'bad-key' || r.kind === 'no-key');
      const key = r.headers['x-api-key'];
      assert.ok(key === undefined || !Object.values(keys).includes(key));
      if (r.kind === 'no-key') assert.equal(key, undefined);
    }
    assert.ok(Math.abs(share(reqs, (r) => r.kind === 'no-key') - 0.4) < 0.04);
  });

  it('names the cheaper models more often, and leaves four runs in ten to the agent', () => {
    const bodies = sample(steady, 5000)
      .filter((r) => r.kind === 'run')
      .map((r) => JSON.parse(r.body as string) as { model?: string });
    const shares = catalog.models.map((m) => share(bodies, (b) => b.model === m));
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i] < shares[i - 1], `${shares}`);
    assert.ok(Math.abs(share(bodies, (b) => b.model === undefined) - 0.4) < 0.03);
  });

  it('orders the catalog cheapest model first, and refuses to start runs without it', () => {
    const c = catalogOf({
      agents: [{ name: 'a' }],
      models: [
        { name: 'dear', input_usd_per_million_tokens: 2 },
        { name: 'cheap', input_usd_per_million_tokens: 1 },
      ],
    });
    assert.deepEqual(c, { agents: ['a'], models: ['cheap', 'dear'] });
    const bare: MixContext = { rng: seededRng(1), keys, runIds: new RunIds() };
    assert.throws(() => freeBurst({ ...bare, rng: () => 0.1 }), /needs the service catalog/);
  });

  it('free-burst sends everything on the free key', () => {
    const reqs = sample(freeBurst, 500);
    assert.ok(reqs.every((r) => r.headers['x-api-key'] === keys.free && r.tier === 'free'));
  });

  it('keeps a bounded list of recent run ids', () => {
    const ids = new RunIds(3);
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id, 'pro');
    const rng = seededRng(9);
    const seen = new Set(Array.from({ length: 100 }, () => ids.pick(rng, 'pro')));
    assert.deepEqual([...seen].sort(), ['b', 'c', 'd']);
    assert.equal(ids.pick(rng, 'free'), undefined);
  });
});
