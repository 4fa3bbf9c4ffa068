// No synchronous step of a request may cost more than linear time in its input (ADR 0007,
// docs/decisions/0007-hostile-input-and-limits.md): the scrubber runs on every traced path, log line and Sentry event, the calculator's
// expression finder on every `analyst` run.
import assert from 'node:assert/strict';
import { findExpression } from '../src/agent/calculator';
import { Scrubber, scrubEmails } from '../src/telemetry/scrub';
import { assertLinear } from './support/cost';

// Sizes: the old e-mail regex took about 0.6 s on 16 KiB (0.15 s on 8 KiB) and 4x that per doubling, the old
// expression regex 0.33 s on 8 KiB of "(": from 8 to 32 KiB either takes 16 times as long (or runs
// into the timeout); the new code 4 times.
describe('cost of hostile input', function () {
  this.timeout(60_000);
  const scrubber = new Scrubber(['a-secret-key-0123456789']);

  it('scrubbing a long run of address characters before "@" is linear', () => {
    const inputs = {
      'a…a@': (n: number) => `${'a'.repeat(n)}@`,
      'a@a@…': (n: number) => 'a@'.repeat(n / 2),
      'x@a.a.…': (n: number) => `x@${'a.'.repeat(n / 2)}`,
    };
    for (const [name, make] of Object.entries(inputs)) {
      assertLinear(`scrubEmails ${name}`, make, scrubEmails, 8_192);
    }
  });

  it('scrubbing looks at a bounded prefix of long strings', () => {
    const long = `${'a'.repeat(100_000)} bob@example.org`;
    const scrubbed = scrubber.string(long);
    assert.ok(scrubbed.length < 10_000, `kept ${scrubbed.length} characters`);
    assert.match(scrubbed, /truncated/);
    assert.doesNotMatch(scrubbed, /bob@/);
  });

  it('finding an expression in a prompt of "(" is linear', () => {
    const inputs = {
      '((…': (n: number) => '('.repeat(n),
      '1+((…': (n: number) => `1+${'('.repeat(n)}`,
      '1 1 …': (n: number) => '1 '.repeat(n / 2),
    };
    for (const [name, make] of Object.entries(inputs)) {
      assertLinear(`findExpression ${name}`, make, findExpression, 8_192);
    }
  });
});
