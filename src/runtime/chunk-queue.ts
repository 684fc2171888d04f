/**
 * A stream fed one chunk at a time: `push` resolves once the reader has taken the chunk, so a
 * producer that waits for it (or, across the network, a sender waiting for the acknowledgement)
 * never runs far ahead of the consumer. Read once.
 */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  private held: { chunk: Uint8Array; taken: () => void; dropped: (error: Error) => void }[] = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  /** Hands `chunk` to the reader; resolves when it was taken, rejects if the stream failed first. */
  push(chunk: Uint8Array): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.ended) return Promise.reject(new Error('chunk pushed after the end'));
    return new Promise((resolve, reject) => {
      this.held.push({ chunk, taken: resolve, dropped: reject });
      this.notify();
    });
  }

  /** No more chunks: the reader's loop ends once it took the last. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The reader's next read throws `error`, and chunks not yet taken are dropped. */
  fail(error: Error): void {
    this.failure ??= error;
    for (const h of this.held) h.dropped(this.failure);
    this.held = [];
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.failure !== null) throw this.failure;
      const next = this.held.shift();
      if (next !== undefined) {
        next.taken();
        yield next.chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
