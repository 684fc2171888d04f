/**
 * Callers waiting until this node has applied at least some index (a read barrier's last step).
 * Invariant: `waiting` is sorted by index, so each apply releases a prefix.
 */
export class AppliedWatch {
  private waiting: { index: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  /** Resolves once `applied(n)` has been called with n >= index; at once if `current` already is. */
  until(index: number, current: number): Promise<void> {
    if (current >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const at = this.waiting.findIndex((w) => w.index > index);
      this.waiting.splice(at === -1 ? this.waiting.length : at, 0, { index, resolve, reject });
    });
  }

  applied(index: number): void {
    let released = 0;
    while (released < this.waiting.length && this.waiting[released]!.index <= index) this.waiting[released++]!.resolve();
    if (released > 0) this.waiting.splice(0, released);
  }

  rejectAll(error: Error): void {
    for (const w of this.waiting) w.reject(error);
    this.waiting = [];
  }
}
