// No synchronous step of a request may cost more than linear time in its input (issue 14, items
// 1 and 2): the scrubber runs on every traced path, log line and Sentry event, the calculator's
// expression finder on every `analyst` run.
import assert from 'node:assert/strict';
import { findExpression } from '../src/agent/calculator';
import { Scrubber, scrubEmails } from '../src/telemetry/scrub';
import { assertLinear } from './support/cost';

describe('cost of hostile input', function () {
  this.timeout(60_000);
  const scrubber = new Scrubber(['a-secret-key-0123456789']);

  it('scrubbing a long run of address characters before "@" is linear', () => {
    assertLinear(
      'scrub',
      (n) => `${'a'.repeat(n)}@`,
      (text) => scrubEmails(text),
      8192,
    );
    assertLinear(
      'scrub',
      (n) => 'a@'.repeat(n / 2),
      (text) => scrubEmails(text),
      8192,
    );
    assertLinear(
      'scrub',
      (n) => `x@${'a.'.repeat(n / 2)}`,
      (text) => scrubEmails(text),
      8192,
    );
  });

  it('scrubbing looks at a bounded prefix of long strings', () => {
    const long = `${'a'.repeat(100_000)} bob@example.org`;
    const scrubbed = scrubber.string(long);
    assert.ok(scrubbed.length < 10_000, `kept ${scrubbed.length} characters`);
    assert.match(scrubbed, /truncated/);
    assert.doesNotMatch(scrubbed, /bob@/);
  });

  it('finding an expression in a prompt of "(" is linear', () => {
    assertLinear('findExpression', (n) => '('.repeat(n), findExpression, 16_384);
    assertLinear('findExpression', (n) => `1+${'('.repeat(n)}`, findExpression, 16_384);
    assertLinear('findExpression', (n) => '1 '.repeat(n / 2), findExpression, 16_384);
  });
});
