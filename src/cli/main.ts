import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { GraftError } from '../errors.ts';
import { apps, DEFAULT_APP } from './apps.ts';
import { CliError, UsageError } from './errors.ts';
import { TLS_VARIABLES, TOKEN_VARIABLE, useTlsFiles, useTokenFile } from './credentials.ts';
import { kvCompareAndSet, kvDelete, kvGet, kvSet, type ValueSource } from './commands/kv.ts';
import { leaderTransfer } from './commands/leader.ts';
import { memberAdd, memberRemove } from './commands/member.ts';
import { DEFAULT_CONFIG_FILE, start } from './commands/start.ts';
import { configuration, status, snapshot, watchConfiguration } from './commands/status.ts';
import { sqlCommand, sqlQuery } from './commands/sql.ts';
import { stopNode } from './commands/stop.ts';
import { up } from './commands/up.ts';
import { completionScript } from './completion.ts';
import { useJson } from './output.ts';
import { explainSystemError } from './system-errors.ts';

/** The `graft` command line. Exit codes: 0 done, 1 the request failed, 2 the command line was wrong. */
function program(): Command {
  const cli = new Command('graft')
    .description('Run Graft nodes (a replicated key-value store by default) and talk to them')
    .version(packageVersion(), '-V, --version', 'print the version of graft-raft')
    .exitOverride()
    .showHelpAfterError()
    .option('--token-file <path>', `the client token to send, for a cluster with clientTokenFile (default: the environment variable ${TOKEN_VARIABLE})`)
    .option('--ca <file>', `the CA (PEM) that signed the nodes' certificates, for a cluster with tls: speak HTTPS (default: ${TLS_VARIABLES.ca})`)
    .option('--cert <file>', `the client certificate (PEM) to present, signed by the cluster CA (default: ${TLS_VARIABLES.cert})`)
    .option('--key <file>', `the private key (PEM) of --cert (default: ${TLS_VARIABLES.key})`)
    .option('--json', 'print what a command prints as one JSON document, for programs')
    .hook('preAction', (command) => {
      const options = command.opts() as { tokenFile?: string; ca?: string; cert?: string; key?: string; json?: boolean };
      useJson(options.json === true);
      useTokenFile(options.tokenFile);
      useTlsFiles({ ca: options.ca, cert: options.cert, key: options.key });
    });

  const app = (): Option =>
    new Option(
      '--app <name>',
      `the app to host (${Object.entries(apps)
        .map(([name, a]) => `${name}: ${a.description}`)
        .join('; ')})`,
    )
      .choices(Object.keys(apps))
      .default(DEFAULT_APP);

  cli
    .command('start')
    .description('run one node in the foreground (of the kvstore app unless --app names another)')
    .option('--config <file>', `cluster configuration, YAML (default: ${DEFAULT_CONFIG_FILE} in the working directory, if there is one; optional with --join)`)
    .requiredOption('--id <id>', "this node's machine id")
    .option('--address <host:port>', 'where this machine listens, when the configuration does not list its id (a machine added at runtime)')
    .option('--join <host:port>', 'a member of a running cluster: ask its leader to add this machine, as a voter, once it listens')
    .option('--data-dir <dir>', 'where nodes keep their files, each under <dir>/<id> (default: dataDir of the configuration, else ./data)')
    .addOption(app())
    .action(start);

  cli
    .command('up')
    .description('run every member of the configuration locally; Ctrl-C stops them all')
    .option('--config <file>', 'cluster configuration (YAML)', 'cluster.yaml')
    .addOption(app())
    .action(up);

  const cluster = ['--cluster <host:port>', 'address of any live node'] as const;
  const kv = cli.command('kv').description('read and write keys');
  const file = ['--file <path>', 'read the JSON value from PATH (for values over ~100 KiB)'] as const;
  kv.command('set <key> [json]')
    .description('set KEY to a JSON value: JSON, - to read standard input, or --file PATH')
    .requiredOption(...cluster)
    .option(...file)
    .action((key: string, json: string | undefined, o: { cluster: string; file?: string }, command: Command) =>
      kvSet(o.cluster, key, valueSource(command, 'JSON', json, o.file)),
    );
  kv.command('get <key>')
    .description('read KEY (linearizable)')
    .requiredOption(...cluster)
    .option('--stale', "read the node's own copy at once; it may miss recent writes")
    .action((key: string, o: { cluster: string; stale?: boolean }) => kvGet(o.cluster, key, o.stale === true));
  kv.command('del <key>')
    .description('delete KEY')
    .requiredOption(...cluster)
    .action((key: string, o: { cluster: string }) => kvDelete(o.cluster, key));
  kv.command('cas <key> <expected> [new]')
    .description('set KEY to NEW if it holds EXPECTED (JSON; absent = null); NEW may also be - or --file PATH')
    .requiredOption(...cluster)
    .option(...file)
    .action((key: string, expected: string, json: string | undefined, o: { cluster: string; file?: string }, command: Command) =>
      kvCompareAndSet(o.cluster, key, expected, valueSource(command, 'NEW_JSON', json, o.file)),
    );

  const params = ['--params <json>', 'the values of its ? placeholders as a JSON array, or of its :name ones as an object'] as const;
  cli
    .command('command <sql>')
    .description('run one SQL statement that writes, on every node of a sqlite cluster (graft start --app sqlite)')
    .option(...params)
    .requiredOption(...cluster)
    .action((sql: string, o: { cluster: string; params?: string }) => sqlCommand(o.cluster, sql, o.params));
  cli
    .command('query <sql>')
    .description('run one SQL statement that reads (linearizable) on a sqlite cluster, and print its rows as a table')
    .option(...params)
    .requiredOption(...cluster)
    .action((sql: string, o: { cluster: string; params?: string }) => sqlQuery(o.cluster, sql, o.params));

  cli
    .command('leader')
    .description('leadership')
    .command('transfer [id]')
    .description('hand leadership to ID, or to the most up-to-date follower')
    .requiredOption(...cluster)
    .action((id: string | undefined, o: { cluster: string }) => leaderTransfer(o.cluster, id));

  const member = cli.command('member').description('add and remove members of the running cluster');
  member
    .command('add <id> <host:port>')
    .description('add machine ID, listening at HOST:PORT (start it with graft start --address), as a voter once it has caught up')
    .option('--learner', 'add it as a learner: it receives the log but does not vote')
    .requiredOption(...cluster)
    .action((id: string, address: string, o: { cluster: string; learner?: boolean }) => memberAdd(o.cluster, id, address, o.learner === true));
  member
    .command('remove <id>')
    .description('remove member ID, voter or learner; the removed node stops')
    .requiredOption(...cluster)
    .action((id: string, o: { cluster: string }) => memberRemove(o.cluster, id));

  cli
    .command('stop <id>')
    .description('shut node ID down cleanly (a leader hands over leadership first)')
    .requiredOption(...cluster)
    .action((id: string, o: { cluster: string }) => stopNode(o.cluster, id));

  cli
    .command('status')
    .description("one node's view, as JSON")
    .requiredOption(...cluster)
    .action((o: { cluster: string }) => status(o.cluster));
  cli
    .command('snapshot')
    .description('every member takes a snapshot now and compacts its log')
    .requiredOption(...cluster)
    .action((o: { cluster: string }) => snapshot(o.cluster));
  cli
    .command('configuration')
    .description('members, voters or learners, their roles, and the leader')
    .requiredOption(...cluster)
    .option('--watch', 'show it again every second, until Ctrl-C')
    .action((o: { cluster: string; watch?: boolean }) => (o.watch === true ? watchConfiguration(o.cluster) : configuration(o.cluster)));
  cli
    .command('completion')
    .description('print a script that completes graft commands in your shell: source <(graft completion bash)')
    .argument('<shell>', 'bash or zsh', (value: string) => {
      if (value !== 'bash' && value !== 'zsh') throw new InvalidArgumentError('expected bash or zsh');
      return value;
    })
    .action((shell: 'bash' | 'zsh') => void process.stdout.write(completionScript(shell, cli)));
  return cli;
}

/** The version of the installed package: package.json lies two levels up, from src/cli and from dist/cli alike. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Where the value of `kv set` or `kv cas` comes from: the argument `json` (`-` reads standard input)
 * or `--file`, exactly one of them. Both or neither is a command-line mistake (exit 2, with usage).
 */
function valueSource(command: Command, name: string, json: string | undefined, file: string | undefined): ValueSource {
  if (json !== undefined && file !== undefined) {
    command.error(`error: ${name} given twice, as an argument and with --file; give only one`);
  }
  if (file !== undefined) return { kind: 'file', path: file };
  if (json === undefined) command.error(`error: missing ${name}: give it as an argument, as - to read standard input, or with --file PATH`);
  return json === '-' ? { kind: 'stdin' } : { kind: 'argument', name, text: json };
}

try {
  await program().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError) {
    console.error(`graft: ${error.message}`);
    process.exitCode = 2;
  } else if (error instanceof CliError || error instanceof GraftError) {
    console.error(`graft: ${error.message}`);
    process.exitCode = 1;
  } else {
    const explained = explainSystemError(error);
    // A stack trace helps only whoever debugs graft itself: shown at GRAFT_LOG_LEVEL=debug.
    if (explained !== null) console.error(`graft: ${explained}`);
    else if (process.env['GRAFT_LOG_LEVEL']?.toLowerCase() === 'debug') console.error('graft: unexpected error:', error);
    else console.error(`graft: unexpected error: ${error instanceof Error ? error.message : String(error)} (GRAFT_LOG_LEVEL=debug shows where)`);
    process.exitCode = 1;
  }
}
