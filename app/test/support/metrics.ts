// Reads samples out of the OpenMetrics text the service serves.
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  exemplar: { labels: Record<string, string>; value: number } | undefined;
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of (text ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, char: string) =>
      char === 'n' ? '\n' : char,
    );
  }
  return labels;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)(?: # \{([^}]*)\} (\S+))?/.exec(line);
    if (!match) throw new Error(`unparseable metrics line: ${line}`);
    samples.push({
      name: match[1]!,
      labels: parseLabels(match[2]),
      value: Number(match[3]),
      exemplar:
        match[4] === undefined
          ? undefined
          : { labels: parseLabels(match[4]), value: Number(match[5]) },
    });
  }
  return samples;
}

export function families(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

/** The sample with exactly these labels (all of them), or undefined. */
export function findSample(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): Sample | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.keys(sample.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of a sample; 0 when the series does not exist yet. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return findSample(samples, name, labels)?.value ?? 0;
}

/** How much a sample grew between two scrapes. */
export function delta(
  after: Sample[],
  before: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return valueOf(after, name, labels) - valueOf(before, name, labels);
}

/**
 * Asserts how much each series grew between two scrapes, one assertion a series in the order
 * given. Keys are selectors as the exposition writes them: name{label="value",...}.
 */
export function assertGrowth(
  after: Sample[],
  before: Sample[],
  expected: Record<string, number>,
): void {
  for (const [selector, growth] of Object.entries(expected)) {
    const match = /^(\w+)(?:\{(.*)\})?$/.exec(selector);
    if (!match) throw new Error(`not a series selector: ${selector}`);
    assert.equal(delta(after, before, match[1]!, parseLabels(match[2])), growth, selector);
  }
}
