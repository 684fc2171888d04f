import { GraftError } from '../errors.ts';

/** A frame that is malformed, too large or of an unknown version. The message names what and where. */
export class FrameError extends GraftError {
  constructor(message: string) {
    super('PROTOCOL', message);
    this.name = 'FrameError';
  }
}
