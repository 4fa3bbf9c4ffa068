// The docs that list the dashboards list the ones the generator writes (grafana/dashboards/,
// checked against grafana/src/ by dashboards.test.ts), and no doc counts them: a number would
// go stale with the next dashboard, as "four" once did.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { readDashboards } from '../../scripts/lib/dashboards/panel-queries.ts';
import { trackedLinesMatching } from '../lib/git-grep.ts';

const dashboards = readDashboards().map(({ uid, title }) => ({
  uid,
  // Every title is "Agent service / <name>", the folder and the link menu's prefix.
  name: title.replace(/^Agent service \/ /, ''),
}));

const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');

/** The text of the `## heading` section of a markdown file, up to the next `## `. */
const section = (markdown: string, heading: string): string =>
  markdown.split(/^## /m).find((part) => part.startsWith(`${heading}\n`)) ?? '';

/** A number, in words or digits, followed by "dashboards", as a whole phrase. */
const COUNTED = String.raw`\b(one|two|three|four|five|six|seven|eight|nine|ten|[0-9]+) dashboards\b`;

describe('the docs list the generated dashboards', () => {
  it('finds dashboards with a uid and a titled name', () => {
    assert.ok(dashboards.length > 0, 'no dashboards read from grafana/dashboards/');
    for (const { uid, name } of dashboards) assert.ok(uid && name, `${uid}: ${name}`);
  });

  it("README.md's Dashboards section names each by its title", () => {
    const text = section(read('README.md'), 'Dashboards');
    assert.deepEqual(
      dashboards.filter(({ name }) => !text.includes(`**${name}**`)).map(({ name }) => name),
      [],
    );
  });

  it("grafana/README.md's table has a row for each, by uid and title", () => {
    const text = read('grafana/README.md');
    assert.deepEqual(
      dashboards.filter(({ uid, name }) => !text.includes(`| \`${uid}\` | ${name} |`)),
      [],
    );
  });

  it("docs/runbooks/README.md names each one's uid", () => {
    const text = read('docs/runbooks/README.md');
    assert.deepEqual(
      dashboards.filter(({ uid }) => !text.includes(`\`${uid}\``)).map(({ uid }) => uid),
      [],
    );
  });

  it('no tracked file counts them', () => {
    assert.deepEqual(trackedLinesMatching(REPO_ROOT, COUNTED, { ignoreCase: true }), []);
  });
});
