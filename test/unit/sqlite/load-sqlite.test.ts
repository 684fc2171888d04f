import { expect } from 'chai';
import { CliError } from '../../../src/cli/errors.ts';
import { loadSqlite } from '../../../src/cli/apps/sqlite/load-sqlite.ts';

describe('sqlite app: loading better-sqlite3, an optional peer dependency', () => {
  const failing = (error: Error) => () => Promise.reject(error);

  it('loads the installed one', async () => {
    const Database = await loadSqlite();
    const db = new Database(':memory:');
    expect(db.prepare('SELECT 1 + 1 AS two').get()).to.deep.equal({ two: 2 });
    db.close();
  });

  it('says in one line how to install it when it is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'better-sqlite3' imported from /app/load-sqlite.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadSqlite(failing(missing)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CliError);
    expect((error as Error).message).to.equal('the sqlite app needs better-sqlite3: npm install better-sqlite3@12');
  });

  it('names the first line of the reason when it is installed but cannot load (a native module built for another Node)', async () => {
    const broken = new Error('The module was compiled against a different Node.js version\nusing NODE_MODULE_VERSION 127.');
    const error = await loadSqlite(failing(broken)).catch((e: unknown) => e);
    expect((error as Error).message).to.equal('the sqlite app cannot load better-sqlite3: The module was compiled against a different Node.js version');
  });
});
