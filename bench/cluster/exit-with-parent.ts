// Preloaded (--import) into the `graft start` processes the cluster bench spawns: when the bench
// process goes away, however it dies, its end of the IPC channel closes and the node stops as on
// SIGTERM (cleanly). The channel is otherwise unused, and does not keep the process alive.
if (process.channel !== undefined) {
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel.unref();
}
