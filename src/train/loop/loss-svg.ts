// The loss curve as a standalone SVG: loss by step for one or more series (e.g. the main head and each
// MTP head), a log-free linear y axis from 0, a few labelled ticks, a legend. No dependencies.
export interface Series {
  readonly name: string;
  readonly color: string;
  /** (step, value) pairs, steps ascending. */
  readonly points: readonly (readonly [number, number])[];
}

export function lossSvg(series: readonly Series[], title: string): string {
  const W = 720, H = 400, ml = 56, mr = 16, mt = 36, mb = 44;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xMax = Math.max(1, ...all.map(([x]) => x));
  const yMax = niceCeil(Math.max(1e-9, ...all.map(([, y]) => y)));
  const px = (x: number) => ml + (x / xMax) * (W - ml - mr);
  const py = (y: number) => mt + (1 - y / yMax) * (H - mt - mb);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5, Y = py(y).toFixed(1);
    out.push(`<line x1="${ml}" y1="${Y}" x2="${W - mr}" y2="${Y}" stroke="#ddd"/>`);
    out.push(`<text x="${ml - 6}" y="${Y}" text-anchor="end" dominant-baseline="middle">${fmt(y)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const x = Math.round((xMax * i) / 5), X = px(x).toFixed(1);
    out.push(`<text x="${X}" y="${H - mb + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${(ml + W - mr) / 2}" y="${H - 8}" text-anchor="middle">step</text>`);
  out.push(`<text x="14" y="${(mt + H - mb) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(mt + H - mb) / 2})">loss (nats/token)</text>`);
  out.push(`<rect x="${ml}" y="${mt}" width="${W - ml - mr}" height="${H - mt - mb}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y)).map(([x, y]) => `${px(x).toFixed(1)},${py(Math.min(y, yMax)).toFixed(1)}`);
    if (pts.length > 0) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    const lx = W - mr - 170, ly = mt + 14 + i * 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 26}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Exponential moving average, to read a noisy curve. */
export function smooth(points: readonly (readonly [number, number])[], alpha = 0.1): [number, number][] {
  let m = NaN;
  return points.map(([x, y]) => [x, (m = Number.isNaN(m) ? y : m + alpha * (y - m))]);
}

function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? `${v}` : v.toFixed(v < 1 ? 2 : 1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
