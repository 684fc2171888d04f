/** The samples of a Prometheus text exposition, by series: `name` or `name{a="x",b="y"}` (labels sorted). */
export type Samples = ReadonlyMap<string, number>;

/** The series key of `name` with `labels`, as `parsePrometheusText` writes it. */
export function series(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

/**
 * Parses the text format (version 0.0.4): comment lines are skipped, every other line is
 * `name{labels} value`. Throws on a line it cannot read, so a malformed exposition fails the test.
 */
export function parsePrometheusText(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    if (Number.isNaN(value) && match[3] !== 'NaN') throw new Error(`not a sample value: ${JSON.stringify(line)}`);
    samples.set(series(match[1]!, labels), value);
  }
  return samples;
}

/** The value of one series; throws, naming it, when the exposition has no such series. */
export function sample(samples: Samples, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const key = series(name, labels);
  const value = samples.get(key);
  if (value === undefined) throw new Error(`no series ${key} in the metrics`);
  return value;
}
