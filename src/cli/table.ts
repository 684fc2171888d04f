/**
 * Lines of a table, each column padded to its longest value (two spaces between columns), so the
 * columns stay aligned whatever the values. The last cell of a row is never padded: a row may have
 * fewer cells than the header (a note in place of the rest).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.filter((row) => column < row.length - 1).map((row) => row[column]!.length), 0));
  return all.map((row) => row.map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column]! + 2) : cell)).join(''));
}
