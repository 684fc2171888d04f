import { expect } from 'chai';
import { createLogger } from '../../src/logger.ts';

describe('logger', () => {
  it('prints one line per event at or above its level, with context as key=value', () => {
    const lines: string[] = [];
    const log = createLogger('node 1', { level: 'info', write: (l) => lines.push(l) });
    log.debug('hidden');
    log.info('became Leader', { term: 3, note: 'two words', vote: null });
    log.child('transport').warn('dropped');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO \[node 1\] became Leader term=3 note="two words" vote=null$/);
    expect(lines[1]).to.match(/ WARN \[node 1\/transport\] dropped$/);
  });

  it('takes its level from GRAFT_LOG_LEVEL, and warns about a bad value', () => {
    const saved = process.env['GRAFT_LOG_LEVEL'];
    try {
      const lines: string[] = [];
      process.env['GRAFT_LOG_LEVEL'] = 'error';
      createLogger('x', { write: (l) => lines.push(l) }).warn('hidden');
      expect(lines).to.deep.equal([]);
      process.env['GRAFT_LOG_LEVEL'] = 'loud';
      const log = createLogger('x', { write: (l) => lines.push(l) });
      log.debug('hidden');
      log.info('shown');
      expect(lines[0]).to.match(/GRAFT_LOG_LEVEL="loud" is not one of debug, info, warn, error; using info/);
      expect(lines[1]).to.match(/INFO \[x\] shown/);
    } finally {
      if (saved === undefined) delete process.env['GRAFT_LOG_LEVEL'];
      else process.env['GRAFT_LOG_LEVEL'] = saved;
    }
  });
});
