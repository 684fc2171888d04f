/**
 * What a command prints on success: lines for a person, or with `--json` one JSON document for a
 * program (a script, jq). Errors are the same either way: one line on stderr and the exit code.
 */
let asJson = false;

/** `--json` was given. */
export function useJson(json: boolean): void {
  asJson = json;
}

/** Prints `data` as JSON with `--json`, else the lines `human` makes. */
export function print(data: unknown, human: () => readonly string[]): void {
  if (asJson) console.log(JSON.stringify(data, null, 2));
  else for (const line of human()) console.log(line);
}

/**
 * Prints one view of something watched: on a terminal, in place of the one before; otherwise (a
 * pipe, a file) after it, a blank line between. With `--json`, one JSON document per line.
 */
export function printView(data: unknown, human: () => readonly string[]): void {
  if (asJson) console.log(JSON.stringify(data));
  else process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : '\n'}${human().join('\n')}\n`);
}
