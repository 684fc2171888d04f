import { expect } from 'chai';
import { explainSystemError } from '../../src/cli/system-errors.ts';

/** An error as Node's net module throws it from listen(). */
function listenError(code: string, address: string, port: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code} ${address}:${port}`), { code, syscall: 'listen', address, port });
}

describe('graft explains system errors in one line', () => {
  // The process tests meet a port in use and a foreign address for real; a privileged port cannot be
  // met there, as the tests may run as root, who may listen on any port.
  it('a privileged port says to choose a higher one', () => {
    expect(explainSystemError(listenError('EACCES', '127.0.0.1', 80))).to.equal(
      'cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need privileges); choose a higher port',
    );
  });

  it('an IPv6 address is written in brackets', () => {
    expect(explainSystemError(listenError('EADDRINUSE', '::1', 9001))).to.match(/^cannot listen on \[::1\]:9001: the port is in use/);
  });

  it('an error it has no better words for is left as it is', () => {
    expect(explainSystemError(Object.assign(new Error('boom'), { code: 'EIO', syscall: 'read' }))).to.equal(null);
    expect(explainSystemError(new Error('no code'))).to.equal(null);
  });
});
