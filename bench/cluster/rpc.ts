/**
 * Calls between the bench process and the processes it forks, over the fork IPC channel. A protocol
 * is a map from a call's name to its parameters and result; the bench side calls (`Child.call`), the
 * forked side serves (`serve`).
 */
export type Protocol = Record<string, { params: object; result: unknown }>;

/** A request as it crosses the channel: a call id, the call's name, its parameters. */
export interface Request {
  readonly rid: number;
  readonly call: string;
  readonly params: object;
}

/** The answer to a request: its result, or the message of the error it failed with. */
export type Reply = { readonly rid: number; readonly ok: true; readonly value: unknown } | { readonly rid: number; readonly ok: false; readonly error: string };

/** The functions a forked process serves, one per call of its protocol. */
export type Handlers<P extends Protocol> = { [K in keyof P]: (params: P[K]['params']) => Promise<P[K]['result']> | P[K]['result'] };

/**
 * Serves `handlers` on this process's IPC channel, and ends the process when the channel closes:
 * the bench process disconnects it to stop this one, and a bench process that dies closes it too,
 * so no child outlives the run.
 */
export function serve<P extends Protocol>(handlers: Handlers<P>): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this script is forked by the cluster bench (npm run bench -- cluster), not run on its own');
  process.on('message', (message: Request) => {
    const handler = handlers[message.call] as ((params: object) => unknown) | undefined;
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`unknown call ${message.call}`);
        send({ rid: message.rid, ok: true, value: await handler(message.params) } satisfies Reply);
      } catch (error) {
        send({ rid: message.rid, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply);
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}
