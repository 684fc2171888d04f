import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { runCli } from '../helpers/processes.ts';

describe('process: graft completion', function () {
  this.timeout(30_000);
  let script: string;

  before(async () => {
    const run = await runCli(['completion', 'bash']);
    expect(run.code).to.equal(0);
    script = run.stdout;
  });

  /** What bash offers after the words typed so far (the last one being completed). */
  function complete(...typed: string[]): string[] {
    const words = ['graft', ...typed].map((w) => `'${w}'`).join(' ');
    const out = execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _graft; printf '%s\\n' "\${COMPREPLY[@]}"`], {
      encoding: 'utf8',
    });
    return out.split('\n').filter((line) => line !== '');
  }

  it('completes commands, subcommands and options from the command tree, past arguments', () => {
    expect(complete('k')).to.deep.equal(['kv']);
    expect(complete('kv', '')).to.include.members(['set', 'get', 'del', 'cas']);
    expect(complete('kv', 'get', 'mykey', '--s')).to.deep.equal(['--stale']);
    expect(complete('member', 'add', '4', '127.0.0.1:9004', '--l')).to.deep.equal(['--learner']);
    expect(complete('configuration', '--j')).to.deep.equal(['--json']);
    expect(complete('--v')).to.deep.equal(['--version']);
  });

  it('zsh gets the same through bashcompinit; another shell is a usage error', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.stdout).to.match(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    expect(zsh.stdout).to.include(script);
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).to.equal(2);
    expect(fish.stderr).to.match(/argument 'shell' is invalid\. expected bash or zsh|expected bash or zsh/);
  });
});
