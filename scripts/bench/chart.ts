// Renders the benchmark's throughput ratios as a small, dependency-free SVG bar chart that
// the README embeds: one group of bars per endpoint, one bar per instrumented configuration,
// a whisker for the spread over rounds, and a dashed line per target.
import type { Spread } from './stats.ts';

export interface ChartBar {
  label: string;
  ratio: Spread;
  target?: number;
}

export interface ChartGroup {
  label: string;
  bars: ChartBar[];
}

export interface ChartInput {
  title: string;
  subtitle: string;
  groups: ChartGroup[];
}

const WIDTH = 640;
const HEIGHT = 320;
const PLOT = { left: 56, right: 16, top: 64, bottom: 48 };
const COLORS = ['#3274d9', '#56a64b', '#e0b400', '#8f3bb8'];

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c,
  );
}

export function renderChart(input: ChartInput): string {
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  // Headroom above the highest whisker for the value labels.
  const maxRatio =
    Math.max(1, ...input.groups.flatMap((g) => g.bars.map((b) => b.ratio.max))) + 0.15;
  const y = (ratio: number) => PLOT.top + plotHeight * (1 - ratio / maxRatio);
  const parts: string[] = [];

  parts.push(
    `<text x="${PLOT.left}" y="24" font-size="15" font-weight="600">${escapeXml(input.title)}</text>`,
    `<text x="${PLOT.left}" y="44" font-size="11" fill="#555">${escapeXml(input.subtitle)}</text>`,
  );
  for (let tick = 0; tick <= maxRatio + 1e-9; tick += 0.25) {
    parts.push(
      `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`,
      `<text x="${PLOT.left - 6}" y="${y(tick) + 4}" font-size="10" text-anchor="end">${tick.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${PLOT.top + plotHeight / 2}" font-size="11" transform="rotate(-90 14 ${PLOT.top + plotHeight / 2})" text-anchor="middle">throughput ÷ bare</text>`,
  );

  const groupWidth = plotWidth / input.groups.length;
  input.groups.forEach((group, g) => {
    const barWidth = Math.min(56, (groupWidth * 0.7) / group.bars.length);
    const start = PLOT.left + g * groupWidth + (groupWidth - barWidth * group.bars.length) / 2;
    group.bars.forEach((bar, b) => {
      const x = start + b * barWidth;
      const color = COLORS[b % COLORS.length];
      const top = y(bar.ratio.median);
      parts.push(
        `<rect x="${x + 2}" y="${top}" width="${barWidth - 4}" height="${y(0) - top}" fill="${color}"/>`,
        `<line x1="${x + barWidth / 2}" x2="${x + barWidth / 2}" y1="${y(bar.ratio.min)}" y2="${y(bar.ratio.max)}" stroke="#222"/>`,
        // Above the whisker and the target line, so neither crosses the number.
        `<text x="${x + barWidth / 2}" y="${y(Math.max(bar.ratio.max, bar.target ?? 0)) - 6}" font-size="10" text-anchor="middle">${bar.ratio.median.toFixed(2)}</text>`,
        `<text x="${x + barWidth / 2}" y="${y(0) + 14}" font-size="10" text-anchor="middle">${escapeXml(bar.label)}</text>`,
      );
      if (bar.target !== undefined) {
        parts.push(
          `<line x1="${x}" x2="${x + barWidth}" y1="${y(bar.target)}" y2="${y(bar.target)}" stroke="#d44a3a" stroke-dasharray="4 3" stroke-width="2"/>`,
        );
      }
    });
    parts.push(
      `<text x="${PLOT.left + g * groupWidth + groupWidth / 2}" y="${HEIGHT - 12}" font-size="12" font-weight="600" text-anchor="middle">${escapeXml(group.label)}</text>`,
    );
  });
  parts.push(
    `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${y(1)}" y2="${y(1)}" stroke="#222" stroke-width="1"/>`,
    `<text x="${WIDTH - PLOT.right}" y="24" font-size="10" text-anchor="end">bar = median of rounds, whisker = min–max</text>`,
    `<text x="${WIDTH - PLOT.right}" y="38" font-size="10" text-anchor="end">black line = bare (1.00), dashed red = target</text>`,
  );

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}
