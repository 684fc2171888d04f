import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { DASHBOARD_CSP, DASHBOARD_HTML } from '../../../src/cli/apps/kvstore/dashboard/page.ts';

/** The text of every inline `<tag>` block of the page. */
function blocks(tag: string): string[] {
  return [...DASHBOARD_HTML.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
}

describe('dashboard: the page', () => {
  it('has one inline script, which parses, and one inline style', () => {
    const scripts = blocks('script');
    expect(scripts).to.have.length(1);
    expect(() => new Function(scripts[0]!)).not.to.throw();
    expect(blocks('style')).to.have.length(1);
  });

  it('allows by its CSP exactly its own script and style (by hash), and connections to its own origin only', () => {
    const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const policy = new Map(DASHBOARD_CSP.split('; ').map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)] as const));
    expect(policy.get('default-src')).to.deep.equal(["'none'"]);
    expect(policy.get('script-src')).to.deep.equal([hash(blocks('script')[0]!)]);
    expect(policy.get('style-src')).to.deep.equal([hash(blocks('style')[0]!)]);
    expect(policy.get('connect-src')).to.deep.equal(["'self'"]);
    expect(policy.get('frame-ancestors')).to.deep.equal(["'none'"]);
  });

  it('loads nothing from elsewhere: no URL with a scheme but data:, no src attribute', () => {
    expect(DASHBOARD_HTML).not.to.match(/\b(https?|wss?):\/\//);
    expect(DASHBOARD_HTML).not.to.match(/\bsrc\s*=/);
  });
});
