// What every script that talks to a running stack (make load, alert-*, smoke) does first: read
// its flags beside the endpoint flags, print its help, and make sure the app answers.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { waitForApp } from './clients.ts';
import { ENDPOINT_OPTIONS, type Endpoints } from './endpoints.ts';

/** The script's options, the endpoint flags and -h/--help (which prints `help` and exits 0). */
export function parseStackArgs<const T extends ParseArgsOptionsConfig>(help: string, options: T) {
  const parsed = parseArgs({
    allowPositionals: true,
    options: { ...ENDPOINT_OPTIONS, ...options, help: { type: 'boolean', short: 'h' } },
  });
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    process.exit(0);
  }
  return parsed;
}

/** Resolves once the app answers; otherwise exits 1 saying how to start the stack. */
export async function requireApp(endpoints: Endpoints): Promise<void> {
  try {
    await waitForApp(endpoints.management, 5_000);
  } catch (err) {
    console.error(
      `${(err as Error).message}\nIs the stack running? Start it with: make up (Docker) or make native`,
    );
    process.exit(1);
  }
}
