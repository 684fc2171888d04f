import type { Command } from 'commander';

/**
 * `graft completion bash|zsh`: a script that completes graft's commands and options, made from
 * the command tree itself so it never falls behind. zsh runs the bash one through bashcompinit.
 */
export function completionScript(shell: 'bash' | 'zsh', root: Command): string {
  const paths: [string, string[]][] = [];
  // The root's options apply after any command too, --version excepted.
  const globals = longFlags(root).filter((flag) => flag !== '--version');
  const walk = (command: Command, path: string): void => {
    const words = [...command.commands.map((c) => c.name()), ...longFlags(command), ...(command === root ? [] : globals)];
    paths.push([path, [...new Set(words)]]);
    for (const sub of command.commands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(root, '');
  const known = paths.map(([path]) => path).join('|');
  const bash = [
    '# graft completion: source it, or put it where your shell loads completions',
    '_graft() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" word i',
    `  local known="|${known}|"`,
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word="${COMP_WORDS[i]}"',
    '    [[ "$known" == *"|${path:+$path }$word|"* ]] && path="${path:+$path }$word"',
    '  done',
    '  local words=""',
    '  case "$path" in',
    ...paths.map(([path, words]) => `    "${path}") words="${words.join(' ')}" ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -o default -F _graft graft',
  ].join('\n');
  return shell === 'bash' ? `${bash}\n` : `autoload -U +X bashcompinit && bashcompinit\n${bash}\n`;
}

function longFlags(command: Command): string[] {
  return command.options.map((o) => o.long).filter((flag): flag is string => flag !== undefined);
}
