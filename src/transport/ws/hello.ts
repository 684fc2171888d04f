import type { NodeId } from '../../core/types.ts';
import { FrameError, FRAME_VERSION, parseJson } from '../codec.ts';

/** The first frame on a peer connection: the dialer says who it is and whom it called. */
export interface Hello {
  readonly from: NodeId;
  readonly to: NodeId;
}

export function encodeHello(hello: Hello): string {
  return JSON.stringify({ v: FRAME_VERSION, hello });
}

/** Parses a hello frame, or throws FrameError naming what was wrong. */
export function decodeHello(data: string | Buffer): Hello {
  const frame = parseJson(data) as { v?: unknown; hello?: { from?: unknown; to?: unknown } } | null;
  if (typeof frame !== 'object' || frame === null || frame.v !== FRAME_VERSION || typeof frame.hello !== 'object' || frame.hello === null) {
    throw new FrameError('expected a hello frame {"v":1,"hello":{"from","to"}} first');
  }
  const { from, to } = frame.hello;
  if (typeof from !== 'string' || typeof to !== 'string' || from === '' || to === '') {
    throw new FrameError('hello.from and hello.to must be machine ids');
  }
  return { from, to };
}
