import type { HttpFigure } from './http.ts';
import type { WriteFigure } from './storage.ts';

/** Markdown tables for the platform figures (control-plane writes, bare HTTP). */

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function writeTable(figures: readonly WriteFigure[]): string {
  const lines = ['| Engine | Path | Rows/s | vs raw |', '| --- | --- | ---: | ---: |'];
  for (const figure of figures) {
    const raw = figures.find((f) => f.engine === figure.engine) as WriteFigure;
    const ratio = `${((figure.rowsPerSecond / raw.rowsPerSecond) * 100).toFixed(0)}%`;
    lines.push(`| ${figure.engine} | ${figure.path} | ${fmt(figure.rowsPerSecond)} | ${ratio} |`);
  }
  return lines.join('\n');
}

export function httpTable(figures: readonly HttpFigure[]): string {
  const lines = [
    '| Target | Requests/s | p50 ms | p99 ms | vs bare | Errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const bare = figures[0] as HttpFigure;
  for (const f of figures) {
    const ratio = `${((f.perSecond / bare.perSecond) * 100).toFixed(0)}%`;
    lines.push(
      `| ${f.target} | ${fmt(f.perSecond)} | ${f.p50Ms.toFixed(2)} | ${f.p99Ms.toFixed(2)} | ${ratio} | ${f.errors} |`,
    );
  }
  return lines.join('\n');
}
