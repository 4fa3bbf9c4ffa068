// Each stand-in image against its upstream Dockerfile (test/compose/lib/upstream.ts): the
// fields `docker image inspect` shows (USER, WORKDIR, ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME,
// HEALTHCHECK) are the upstream's, but for the differences docs/docker.md lists; a shell and
// wget are there exactly where the upstream image has them, so a healthcheck calling a tool the
// real image lacks fails here too; and the programs a Dockerfile building on it calls are at the
// upstream's paths. Grafana's stand-in is a PLACEHOLDER and is not compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  DOCKER_CLIENT,
  engineEnv,
  engineRuns,
  inspectImage,
  type ImageInspect,
} from './lib/engine.ts';
import { stageFields, type ImageFields } from './lib/dockerfile.ts';
import { buildStandIns, standIns } from './lib/standins.ts';
import { upstreamFor, type Upstream } from './lib/upstream.ts';

const keys = (o: Record<string, object> | null | undefined) => Object.keys(o ?? {}).sort();

/** The upstream's fields that the image does not show, one sentence each. */
function fieldDifferences(
  up: ImageFields,
  image: ImageInspect,
  allowed: Pick<Upstream, 'differences' | 'envDifferences'> = {},
): string[] {
  const c = image.Config;
  const problems: string[] = [];
  const check = (field: keyof ImageFields, ok: boolean, got: unknown, want: unknown) => {
    if (!ok && !(field !== 'env' && allowed.differences?.[field]))
      problems.push(`${field}: ${JSON.stringify(got)}, upstream ${JSON.stringify(want)}`);
  };
  check('user', (c.User ?? '') === up.user, c.User, up.user);
  check('workdir', (c.WorkingDir || '/') === (up.workdir || '/'), c.WorkingDir, up.workdir);
  check(
    'entrypoint',
    JSON.stringify(c.Entrypoint ?? null) === JSON.stringify(up.entrypoint),
    c.Entrypoint,
    up.entrypoint,
  );
  check('cmd', JSON.stringify(c.Cmd ?? null) === JSON.stringify(up.cmd), c.Cmd, up.cmd);
  const envDiff = envDifferences(up.env, c.Env ?? [], allowed.envDifferences);
  check('env', envDiff.length === 0, envDiff, up.env);
  check(
    'expose',
    keys(c.ExposedPorts).join() === [...up.expose].sort().join(),
    keys(c.ExposedPorts),
    up.expose,
  );
  check(
    'volumes',
    keys(c.Volumes).join() === [...up.volumes].sort().join(),
    keys(c.Volumes),
    up.volumes,
  );
  check(
    'healthcheck',
    JSON.stringify(c.Healthcheck?.Test ?? null) === JSON.stringify(up.healthcheck),
    c.Healthcheck?.Test,
    up.healthcheck,
  );
  return problems;
}

/**
 * The ENV variables of the image that are not the upstream's: different, absent, or added (but
 * PATH, which every image has from Docker when its Dockerfile does not set it), unless allowed.
 */
function envDifferences(
  up: Record<string, string>,
  imageEnv: string[],
  allowed: Record<string, string> = {},
): string[] {
  const env = new Map(
    imageEnv.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  const names = new Set([...Object.keys(up), ...[...env.keys()].filter((k) => k !== 'PATH')]);
  return [...names]
    .filter((k) => env.get(k) !== up[k] && !allowed[k])
    .map((k) => `${k}=${env.get(k) ?? '(absent)'}`);
}

/** Whether `tool` runs in the image (as its entrypoint, with a harmless argument). */
function runs(tag: string, tool: string, ...args: string[]): boolean {
  const r = spawnSync(
    DOCKER_CLIENT,
    ['run', '--rm', '--network', 'none', '--entrypoint', tool, tag, ...args],
    {
      env: { ...process.env, ...engineEnv() },
      stdio: 'ignore',
    },
  );
  return r.status === 0;
}

describe('stand-in images against their upstream Dockerfiles', function () {
  this.timeout(20 * 60_000);
  before(function () {
    if (!engineRuns()) assert.fail('the test engine is not running: make test-compose starts it');
    buildStandIns((line) => console.log(`      stand-in ${line}`));
  });

  for (const s of standIns()) {
    const up = upstreamFor(s.tag);
    if (!up) continue; // the bases, and Grafana's placeholder
    it(`${s.tag}: the fields of ${up.source.split(' ')[0]}`, () => {
      const image = inspectImage(s.tag);
      assert.ok(image, `${s.tag} is not built`);
      assert.deepEqual(fieldDifferences(up.fields(), image, up), []);
    });
    it(`${s.tag}: ${up.shell ? 'a shell' : 'no shell'}, ${up.wget ? 'wget' : 'no wget'}, as upstream`, () => {
      assert.equal(runs(s.tag, '/bin/sh', '-c', 'true'), up.shell, '/bin/sh');
      // `wget -q -O /dev/null http://127.0.0.1:1/` fails on the refused connection where wget
      // exists; `--help` exits 0 in busybox's and GNU's wget.
      assert.equal(runs(s.tag, 'wget', '--help'), up.wget, 'wget');
    });
    if (up.programs) {
      it(`${s.tag}: ${up.programs.join(', ')} run, at the upstream image's paths`, () => {
        assert.deepEqual(
          up.programs?.filter((p) => !runs(s.tag, p, '--version')),
          [],
          'not found or failing',
        );
      });
    }
  }
});

describe('the comparison itself', () => {
  const DOCKERFILE = [
    'ARG base_image',
    'FROM $base_image AS build',
    'USER builder',
    'FROM ${base_image} AS release',
    'ARG USER_UID=10001',
    'ENV A=1 \\',
    '    B="two words"',
    '# a comment',
    'EXPOSE 80 9090/udp',
    'VOLUME ["/data"]',
    'WORKDIR /srv',
    'ENTRYPOINT ["/bin/app"]',
    'CMD --flag',
    'HEALTHCHECK --interval=5s CMD ["/bin/app", "-health"]',
    'USER ${USER_UID}',
  ].join('\n');

  it('reads a stage of a Dockerfile as docker image inspect shows it', () => {
    assert.deepEqual(stageFields(DOCKERFILE, 'release', { base_image: 'alpine' }), {
      from: 'alpine',
      user: '10001',
      workdir: '/srv',
      entrypoint: ['/bin/app'],
      cmd: ['/bin/sh', '-c', '--flag'],
      env: { A: '1', B: 'two words' },
      expose: ['80/tcp', '9090/udp'],
      volumes: ['/data'],
      healthcheck: ['CMD', '/bin/app', '-health'],
    });
    assert.equal(stageFields(DOCKERFILE, 'build').user, 'builder');
  });

  it('reports every field that differs, and only those not allowed', () => {
    const up = stageFields(DOCKERFILE, 'release');
    const image = {
      Id: 'x',
      Config: {
        User: 'root',
        WorkingDir: '/srv',
        Entrypoint: ['/bin/app'],
        Cmd: ['/bin/sh', '-c', '--flag'],
        Env: ['A=1'],
        ExposedPorts: { '80/tcp': {}, '9090/udp': {} },
        Volumes: { '/data': {} },
        Healthcheck: { Test: ['CMD', '/bin/app', '-health'] },
      },
    };
    const found = fieldDifferences(up, image);
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      ['user', 'env'],
    );
    assert.deepEqual(
      fieldDifferences(up, image, { differences: { user: 'why' }, envDifferences: { B: 'why' } }),
      [],
    );
  });
});

describe('the ENV comparison', () => {
  it('reports ENV variables changed, absent or added, but for PATH and those allowed', () => {
    const up = { A: '1', B: 'two', PATH: '/usr/local/bin:/bin' };
    const image = ['PATH=/bin', 'A=1', 'C=3'];
    assert.deepEqual(envDifferences(up, image), ['B=(absent)', 'PATH=/bin', 'C=3']);
    assert.deepEqual(envDifferences({ A: '1' }, ['PATH=/bin', 'A=1']), []);
    assert.deepEqual(envDifferences(up, image, { B: 'why', C: 'why', PATH: 'why' }), []);
  });
});
