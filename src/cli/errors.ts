/** A failure the CLI reports as one line and exit code 1. */
export class CliError extends Error {}

/** A command line that cannot work (a missing or contradictory option): one line and exit code 2. */
export class UsageError extends CliError {}

/** A node that did not answer: `reason` says why (connection refused, no answer in time). */
export class UnreachableError extends CliError {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(`cannot reach ${address}: ${reason}`);
  }
}

/** A node refused the request for want of the right client token (HTTP 401). */
export class UnauthorizedError extends CliError {}

/** The TLS handshake with a node failed: it refused this client's certificate, or this client refused its. Trying another node would not help. */
export class TlsHandshakeError extends CliError {}
