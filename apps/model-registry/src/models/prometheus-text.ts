/** One sample of the Prometheus text format: name, labels and value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/u;
const LABEL_PAIR = /([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"/gu;

/** Parses the exposition format's sample lines; comments and malformed lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line.trim());
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(LABEL_PAIR)) labels[pair[1]] = pair[2].replace(/\\(.)/gu, '$1');
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** Sum over every label set of the first name present (metric names changed across vLLM versions). */
export function sumOf(samples: Sample[], names: string[]): number | undefined {
  for (const name of names) {
    const matching = samples.filter((s) => s.name === name);
    if (matching.length > 0) return matching.reduce((total, s) => total + s.value, 0);
  }
  return undefined;
}

/** The largest value over label sets (a usage ratio must not be summed across engines). */
export function maxOf(samples: Sample[], names: string[]): number | undefined {
  for (const name of names) {
    const matching = samples.filter((s) => s.name === name);
    if (matching.length > 0) return Math.max(...matching.map((s) => s.value));
  }
  return undefined;
}
