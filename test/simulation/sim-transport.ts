import type { NodeId } from '../../src/core/types.ts';
import type { PeerMessage } from '../../src/transport/peer-messages.ts';
import type { ReceiveHandler, Transport } from '../../src/transport/transport.ts';

/**
 * A simulated node's Transport: what it sends goes to `deliver`; while it runs, the simulation hands
 * it messages through `node.receive`, which is null before start and after stop.
 */
export function simulatedTransport(node: { receive: ReceiveHandler | null }, deliver: (to: NodeId, messages: readonly PeerMessage[]) => boolean): Transport {
  return {
    start: async (receive) => {
      node.receive = receive;
    },
    send: deliver,
    stop: async () => {
      node.receive = null;
    },
  };
}
