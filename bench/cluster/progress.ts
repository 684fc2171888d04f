/**
 * The progress line on stderr: rewritten in place (`\r`) on a terminal, one line per step otherwise
 * (a log file, CI), each prefixed with the step's number, the steps in all, and the time so far.
 */
export class ProgressLine {
  private step = 0;
  private readonly started = performance.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly steps: number) {}

  /** Begins the next step, described by `what`. */
  next(what: string): void {
    this.step++;
    this.show(what);
  }

  /** Describes the current step anew, without counting a step. */
  show(what: string): void {
    const seconds = Math.round((performance.now() - this.started) / 1000);
    const line = `[${Math.min(this.step, this.steps)}/${this.steps} ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}] ${what}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 100) - 1)}`);
    else process.stderr.write(`${line}\n`);
  }

  /** Clears the line (on a terminal), so the results print on a clean one. */
  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}
