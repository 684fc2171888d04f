/** Cancels a timer. Calling it twice is harmless. */
export type Cancel = () => void;

/**
 * Where the runtime gets time from: real timers in production, a manual clock in simulations so
 * that a run is replayed exactly from its seed.
 */
export interface Clock {
  /** Milliseconds since some fixed origin; only differences matter. */
  now(): number;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): Cancel;
  /** Calls `fn` every `ms`. */
  every(ms: number, fn: () => void): Cancel;
  /** Calls `fn` soon, after the current work and the I/O that is ready (setImmediate). */
  defer(fn: () => void): void;
}

/** The process's own timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  defer(fn) {
    setImmediate(fn);
  },
};
