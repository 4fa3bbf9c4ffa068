// Builds the service in-process from a test configuration: a fresh data directory, no simulated
// latency and no random provider errors unless a test asks for them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import { createApps, createServices, type Services } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';

import { ADMIN_TOKEN, FREE_KEY, PRO_KEY } from './keys';

export { ADMIN_TOKEN, FREE_KEY, PRO_KEY };

export interface TestApp {
  app: Express;
  management: Express | undefined;
  /** The provider listener's app, when the test set PROVIDER_PORT. */
  provider: Express | undefined;
  /** The application that serves /metrics, /health* and /admin/*. */
  ops: Express;
  services: Services;
  config: Config;
  close(): void;
}

export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LLM_LATENCY_SCALE: '0',
    LLM_ERROR_RATE: '0',
    ADMIN_TOKEN,
    API_KEYS: `${FREE_KEY}:free,${PRO_KEY}:pro`,
    RATE_LIMIT_PRO_RPS: '1000',
    RATE_LIMIT_PRO_BURST: '1000',
    RATE_LIMIT_FREE_RPS: '1000',
    RATE_LIMIT_FREE_BURST: '1000',
    // Every scrape renders: tests compare scrapes taken milliseconds apart.
    METRICS_CACHE_MS: '0',
    ...overrides,
  };
}

export function buildApp(overrides: Record<string, string> = {}): TestApp {
  const dataDir = mkdtempSync(join(tmpdir(), 'agent-service-test-'));
  const config = loadConfig(testEnv({ DATA_DIR: dataDir, ...overrides }));
  const services = createServices(config);
  services.store.open();
  const { api, management, provider } = createApps(services);
  return {
    app: api,
    management,
    provider,
    ops: management ?? api,
    services,
    config,
    close: () => {
      services.chaos.clearAll();
      services.health.stop();
      services.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One app for the whole describe block (mocha's before/after). The returned object is filled in
 * by the before hook, so tests read it as they would the app itself.
 */
export function appPerSuite(overrides: Record<string, string> = {}): TestApp {
  const holder = {} as TestApp;
  before(() => Object.assign(holder, buildApp(overrides)));
  after(() => holder.close());
  return holder;
}

/** A fresh app for every test (mocha's beforeEach/afterEach), read like appPerSuite's. */
export function appPerTest(overrides: Record<string, string> = {}): TestApp {
  const holder = {} as TestApp;
  beforeEach(() => Object.assign(holder, buildApp(overrides)));
  afterEach(() => holder.close());
  return holder;
}
