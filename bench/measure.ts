/** Runs `op` back to back (or `concurrency` copies of it at once) for about `seconds`; returns operations per second. */
export async function rate(seconds: number, op: () => Promise<unknown>, concurrency = 1): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await op();
      count++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - started) / 1000);
}

/** Prints rows as an aligned table. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const ratio = (n: number, base: number): string => `${(n / base).toFixed(2)}x`;
