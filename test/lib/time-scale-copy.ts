// A copy of the repo's compose file and Prometheus, Alertmanager and Collector configs in a
// temporary folder, with `make configure TIME_SCALE=<scale>`'s override rendered into it: what the
// time-scale tests and Compose's loader read, without touching the clone.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { renderComposeTimeScale } from '../../scripts/lib/stack/compose-time-scale.ts';
import { REPO_ROOT } from '../../scripts/lib/repo.ts';
import { parseTimeScale } from '../../scripts/lib/time-scale.ts';
import { copyOfRepo } from './repo-copy.ts';

/** The copy's folder and its rendered Alertmanager config; the caller removes the folder. */
export function renderTimeScaleCopy(scale: string): { repo: string; amFile: string } {
  const repo = copyOfRepo('time-scale', [
    'docker-compose.yml',
    'services.yml',
    'prometheus',
    'alertmanager',
    'otel-collector',
  ]);
  const amFile = join(repo, 'alertmanager/generated/alertmanager.yml');
  cpSync(join(REPO_ROOT, 'alertmanager/alertmanager.yml'), amFile);
  renderComposeTimeScale(repo, parseTimeScale(scale), amFile);
  return { repo, amFile };
}
