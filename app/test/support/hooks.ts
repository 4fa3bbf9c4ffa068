// Root hooks, loaded by .mocharc.json before every test file runs.
import { startTestTelemetry, stopTestTelemetry } from './telemetry';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await startTestTelemetry();
  },
  async afterAll(): Promise<void> {
    await stopTestTelemetry();
  },
};
