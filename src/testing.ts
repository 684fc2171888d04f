// `graft-raft/testing`: helpers for testing what you build on Graft, and the parts you plug into it.
export { MemoryNetwork, type MemoryNetworkOptions } from './transport/memory.ts';
export { storageConformance, type StorageConformanceCase, type StorageSubject } from './testing/storage-conformance.ts';
