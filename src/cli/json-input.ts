import { CliError } from './errors.ts';

/** Parses a JSON argument, with a hint for the common mistake of an unquoted string. */
export function parseJsonArgument(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${name} must be a JSON value, got ${text}; for a string, quote it: '"${text}"'`);
  }
}

/**
 * Parses JSON read from `source` (a file, standard input), naming the source, the line and column
 * of the first error and what is wrong there. Blank text is an error of its own: the user most
 * likely gave the wrong file or forgot to pipe anything in.
 */
export function parseJsonInput(source: string, text: string): unknown {
  if (text.trim() === '') throw new CliError(`${source} is empty; it must hold a JSON value`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8 gives the position for some errors only, and quotes a snippet instead for others; find it ourselves.
    const reason = (error as Error).message
      .replace(/ (?:in JSON )?at position \d+.*$/s, '')
      .replace(/^Unexpected token '(.+?)', .*$/s, (_, token: string) => `Unexpected token ${isControl(token) ? JSON.stringify(token) : `'${token}'`}`);
    const at = jsonSyntaxErrorOffset(text);
    if (at < 0) throw new CliError(`${source} is not valid JSON: ${(error as Error).message}`);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new CliError(`${source} is not valid JSON: ${reason} at line ${line}, column ${column}`);
  }
}

class SyntaxErrorAt {
  constructor(readonly offset: number) {}
}

/**
 * The offset (in UTF-16 code units) of the first character at which `text` stops being one JSON
 * value (RFC 8259, the grammar `JSON.parse` accepts): `text.length` when it ends too soon, -1 when
 * it is valid. Iterative, so deeply nested input cannot overflow the stack.
 */
function jsonSyntaxErrorOffset(text: string): number {
  let i = 0;
  const fail = (at: number): never => {
    throw new SyntaxErrorAt(at);
  };
  const skipWhitespace = (): void => {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  };
  const digits = (): void => {
    const start = i;
    while (text[i] !== undefined && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail(i);
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail(i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail(i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      const escaped = text[i + 1];
      if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
        i += 2;
        continue;
      }
      if (escaped !== 'u') fail(i + 1);
      for (let k = i + 2; k < i + 6; k++) if (!/[0-9a-fA-F]/.test(text[k] ?? '')) fail(k);
      i += 6;
    }
  };
  const scalar = (): void => {
    const c = text[i];
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (c !== literal[0]) continue;
      for (let k = 0; k < literal.length; k++, i++) if (text[i] !== literal[k]) fail(i);
      return;
    }
    if (c === '-') i++;
    if (text[i] === '0') i++;
    else if (text[i] !== undefined && text[i]! >= '1' && text[i]! <= '9') digits();
    else fail(i);
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };

  const open: ('{' | '[')[] = [];
  let expect: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'after' = 'value';
  try {
    for (;;) {
      skipWhitespace();
      const c = text[i];
      if (expect === 'after') {
        const top = open.at(-1);
        if (top === undefined) return i === text.length ? -1 : i;
        if (c === ',') {
          i++;
          expect = top === '[' ? 'value' : 'key';
        } else if (c === (top === '[' ? ']' : '}')) {
          i++;
          open.pop();
        } else return i;
      } else if (expect === 'key' || expect === 'keyOrClose') {
        if (expect === 'keyOrClose' && c === '}') {
          i++;
          open.pop();
          expect = 'after';
          continue;
        }
        if (c !== '"') return i;
        string();
        skipWhitespace();
        if (text[i] !== ':') return i;
        i++;
        expect = 'value';
      } else {
        if (expect === 'valueOrClose' && c === ']') {
          i++;
          open.pop();
          expect = 'after';
          continue;
        }
        if (c === '{' || c === '[') {
          i++;
          open.push(c);
          expect = c === '{' ? 'keyOrClose' : 'valueOrClose';
          continue;
        }
        scalar();
        expect = 'after';
      }
    }
  } catch (error) {
    if (error instanceof SyntaxErrorAt) return error.offset;
    throw error;
  }
}

/** Whether `text` holds a control character (shown escaped, or it would garble the terminal). */
function isControl(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20);
}
