/**
 * The largest index or term a node can hold: the write-ahead log stores them in 6 bytes
 * (src/storage/file/record.ts). The codec checks numbers from peers against these limits and the WAL
 * refuses to write beyond them, so a number a node accepted is always one it can store.
 */
export const MAX_INDEX = 2 ** 48 - 1;

/**
 * The largest term accepted from a peer: half the storable range. A node that adopts it still has
 * 2^47 elections of its own before it runs out of terms, so no message, however hostile, can leave
 * a cluster unable to elect (terms grow by one per election; no real cluster comes near).
 */
export const MAX_TERM = 2 ** 47;
