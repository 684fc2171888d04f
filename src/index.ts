// The public API of Graft. Everything a user embeds or plugs in is exported here.
export { GraftInstance, type GraftOptions, type GraftStatus } from './graft.ts';
export {
  loadClusterConfig,
  parseClusterConfig,
  clusterConfigFromObject,
  type ClusterConfig,
  type ClusterConfigObject,
  type PeerAddress,
  type ReadMode,
  type SnapshotPolicy,
  type TlsConfig,
} from './config.ts';
export { superjsonSerializer, jsonSerializer, type Serializer } from './serializer.ts';
export { recordsToSnapshot, snapshotToRecords } from './snapshot-records.ts';
export { GraftError, type GraftErrorCode } from './errors.ts';
export { createLogger, silentLogger, type LogFn, type LogFormat, type Logger, type LoggerOptions, type LogLevel } from './logger.ts';
export type { Storage, PersistedState } from './storage/storage.ts';
export { MemorySnapshotStore, type SnapshotStore, type StoredSnapshot } from './storage/snapshot-store.ts';
export { logAfterSnapshot } from './storage/log-after-snapshot.ts';
export { MemoryStorage } from './storage/memory.ts';
export { FileStorage, type FileStorageOptions } from './storage/file/file-storage.ts';
export type { WalFiles, WalFileHandle } from './storage/file/wal-files.ts';
export type { DataDirIdentity } from './storage/file/data-dir.ts';
export type { Transport, ReceiveHandler } from './transport/transport.ts';
export type { PeerMessage, ForwardRequest, ForwardResponse, SnapshotChunk, SnapshotChunkAck } from './transport/peer-messages.ts';
export type {
  Message,
  MessageType,
  RequestVote,
  RequestVoteResponse,
  PreVote,
  PreVoteResponse,
  AppendEntries,
  AppendEntriesResponse,
  ReadIndex,
  ReadIndexResponse,
  TimeoutNow,
  InstallSnapshot,
} from './core/messages.ts';
export { encodeFrame, decodeFrame, FrameError, FRAME_VERSION } from './transport/codec.ts';
export { WebSocketTransport, type WebSocketTransportOptions } from './transport/ws/ws-transport.ts';
export type { HandshakeLimits } from './transport/ws/handshake-limits.ts';
export type { TlsIdentity } from './transport/ws/tls.ts';
export type { BackoffOptions } from './transport/ws/backoff.ts';
export type { Command, Entry, EntryKind, HardState, NodeId, Role, SessionStamp, SnapshotMeta } from './core/types.ts';
export type { LogPosition } from './core/raft.ts';
export type { Configuration } from './core/membership.ts';
export type { MemberInfo } from './runtime/membership-changes.ts';
export type { GraftEvents } from './runtime/events.ts';
export type { Clock, Cancel } from './runtime/clock.ts';
