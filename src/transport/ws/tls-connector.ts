import { isIP, type Socket } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import type { ClientOptions } from 'ws';

/**
 * A `createConnection` for ws's wss:// client: the TLS connection ws would make itself (the server
 * name checked against the host dialed), calling `onSecure` once its handshake is done. A peer that
 * refuses this side's certificate closes the connection only after that (TLS 1.3 sends the client's
 * certificate last), so this is how a dialer tells that refusal from a peer that is not there.
 */
export function tlsConnector(onSecure: () => void): NonNullable<ClientOptions['createConnection']> {
  const createConnection = (options: ConnectionOptions): Socket => {
    const host = options.host ?? '';
    const socket = connect({ ...options, path: undefined, servername: options.servername ?? (isIP(host) === 0 ? host : '') } as ConnectionOptions);
    socket.once('secureConnect', onSecure);
    return socket;
  };
  // ws calls it with the options of the request it makes (host, port, ca, cert, key, ...) only.
  return createConnection as unknown as NonNullable<ClientOptions['createConnection']>;
}
