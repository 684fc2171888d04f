/** The operations of the replicated key-value store. Values are any JSON value. */
export type KVOperation =
  | { readonly kind: 'set'; readonly key: string; readonly value: unknown }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: unknown; readonly value: unknown }
  /** A read through the log: linearizable, because it is ordered with every write. */
  | { readonly kind: 'get'; readonly key: string };

/** What applying an operation returns. */
export type KVResult =
  | { readonly kind: 'written'; readonly index: number }
  | { readonly kind: 'deleted'; readonly index: number; readonly existed: boolean }
  | { readonly kind: 'cas'; readonly ok: boolean }
  | { readonly kind: 'read'; readonly found: boolean; readonly value: unknown };
