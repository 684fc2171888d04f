import superjson from 'superjson';
import { GraftError } from '../errors.ts';
import { superjsonText } from '../serializer.ts';
import type { Outcome, SessionTableState } from '../session/session-table.ts';
import type { AppliedTermsState } from './applied-terms.ts';

/** Graft's own part of every snapshot: what exactly-once needs beside the application's state. */
export interface GraftState {
  readonly sessions: SessionTableState;
  readonly terms: AppliedTermsState;
}

/**
 * How Graft's state is written inside a snapshot. Format 1 was the whole state through superjson,
 * whose walk over every stored outcome cost a busy node a tenth of its time at each snapshot; it is
 * still read. Format 2 is plain JSON, with each outcome a tuple and only a value, if any, in superjson:
 *
 *   {"terms": {"applied": N, "runs": [[index, term], ...]},
 *    "sessions": [[session, floor, [outcome, ...]], ...]}
 *
 *   outcome: [seq]                  applied, and the applicator returned undefined
 *            [seq, text]            applied, returning the value superjson wrote as `text`
 *            [seq, null, message]   the applicator threw `message`
 */
export type GraftStateFormat = 1 | 2;

/** Graft's state as format 2 text. Errors keep their message only, as the callers of a retry are told. */
export function encodeGraftState(state: GraftState): string {
  const sessions = state.sessions.map(({ session, floor, outcomes }) => [session, floor, outcomes.map(([seq, outcome]) => encodeOutcome(seq, outcome))]);
  return JSON.stringify({ terms: state.terms, sessions });
}

function encodeOutcome(seq: number, outcome: Outcome): unknown[] {
  if (!outcome.ok) return [seq, null, outcome.error.message];
  return outcome.value === undefined ? [seq] : [seq, superjsonText(outcome.value)];
}

/** Reads Graft's state written in `format`; a state that is not what the format says is STORAGE_CORRUPT, naming what is wrong. */
export function decodeGraftState(text: string, format: GraftStateFormat): GraftState {
  let parsed: unknown;
  try {
    parsed = format === 1 ? superjson.parse(text) : JSON.parse(text);
  } catch (error) {
    throw corrupt(`it is not JSON (${(error as Error).message})`);
  }
  return format === 1 ? decodeFormat1(parsed) : decodeFormat2(parsed);
}

function decodeFormat2(parsed: unknown): GraftState {
  const root = record(parsed, 'the state');
  const sessions = list(root['sessions'], 'sessions').map((item, i): SessionTableState[number] => {
    const where = `sessions[${i}]`;
    const [session, floor, outcomes] = list(item, where);
    return {
      session: natural(session, `${where} (its id)`),
      floor: natural(floor, `${where} (its floor)`),
      outcomes: list(outcomes, `${where} (its outcomes)`).map((o, j) => decodeOutcome(o, `${where} outcome ${j}`)),
    };
  });
  return { sessions, terms: decodeTerms(root['terms']) };
}

function decodeOutcome(item: unknown, where: string): readonly [number, Outcome] {
  const tuple = list(item, where);
  const seq = natural(tuple[0], `${where} (its number)`);
  if (tuple.length === 1) return [seq, { ok: true, value: undefined }];
  if (tuple.length === 2 && typeof tuple[1] === 'string') return [seq, { ok: true, value: superjson.parse(tuple[1]) }];
  if (tuple.length === 3 && tuple[1] === null && typeof tuple[2] === 'string') return [seq, failed(tuple[2])];
  throw corrupt(`${where} is neither [seq], [seq, value] nor [seq, null, message]`);
}

/** Format 1: what superjson made of the state, with each error as `{message}`. */
function decodeFormat1(parsed: unknown): GraftState {
  const root = record(parsed, 'the state');
  const sessions = list(root['sessions'], 'sessions').map((item, i): SessionTableState[number] => {
    const where = `sessions[${i}]`;
    const session = record(item, where);
    const outcomes = list(session['outcomes'], `${where}.outcomes`).map((o, j): readonly [number, Outcome] => {
      const [seq, outcome] = list(o, `${where}.outcomes[${j}]`);
      const fields = record(outcome, `${where}.outcomes[${j}]`);
      const number = natural(seq, `${where}.outcomes[${j}] (its number)`);
      if (fields['ok'] === true) return [number, { ok: true, value: fields['value'] }];
      return [number, failed(String(record(fields['error'], `${where}.outcomes[${j}].error`)['message']))];
    });
    return { session: natural(session['session'], `${where}.session`), floor: natural(session['floor'], `${where}.floor`), outcomes };
  });
  return { sessions, terms: decodeTerms(root['terms']) };
}

function decodeTerms(value: unknown): AppliedTermsState {
  const terms = record(value, 'terms');
  const runs = list(terms['runs'], 'terms.runs').map((run, i) => {
    const [index, term] = list(run, `terms.runs[${i}]`);
    return [natural(index, `terms.runs[${i}] (its index)`), natural(term, `terms.runs[${i}] (its term)`)] as const;
  });
  return { applied: natural(terms['applied'], 'terms.applied'), runs };
}

/** A stored failure comes back as what a retry's caller is told: APPLY_FAILED with the applicator's message. */
function failed(message: string): Outcome {
  return { ok: false, error: new GraftError('APPLY_FAILED', message) };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw corrupt(`${where} is not a list`);
  return value;
}

function natural(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw corrupt(`${where} is not a whole number`);
  return value;
}

function corrupt(what: string): GraftError {
  return new GraftError('STORAGE_CORRUPT', `the snapshot's Graft state is damaged: ${what}`);
}
