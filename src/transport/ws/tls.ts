import type { ServerOptions } from 'node:https';

/**
 * A TLS identity and the CA it trusts, as PEM text: this side's certificate and key, presented to
 * the other side, and the CA the other side's certificate must chain to.
 */
export interface TlsIdentity {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * The options of an HTTPS server that serves only clients with a certificate signed by `tls.ca`
 * (mutual TLS): a client without one, or with one of another CA, fails the TLS handshake, before
 * any HTTP or WebSocket byte is read.
 */
export function mutualTlsServerOptions(tls: TlsIdentity): ServerOptions {
  return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true };
}

/** What Node reports about a certificate it could not verify (OpenSSL's verification codes), in words. */
const VERIFY_FAILURES: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by an unknown CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate signed by an unknown CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate, not signed by the CA',
  CERT_SIGNATURE_FAILURE: 'certificate signature does not check out',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not valid yet',
  CERT_REVOKED: 'certificate was revoked',
  INVALID_PURPOSE: 'certificate may not be used for this purpose (extendedKeyUsage)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host',
};

/** Alerts the other side sends when it refuses this side's certificate, in words. */
const ALERTS: Readonly<Record<string, string>> = {
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'certificate signed by an unknown CA',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'a client certificate is required',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'bad certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'certificate has expired',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'certificate or key does not check out',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'no protocol or cipher in common',
};

/**
 * A failed TLS handshake, as a client sees it. `kind`: `refused`, the other side did not accept this
 * side's certificate (or its absence); `untrusted`, this side did not accept the other's; `not-tls`,
 * the other side does not speak TLS. `reason` is in words and ends with Node's code, e.g.
 * `certificate signed by an unknown CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`. Null when `error` is not
 * a TLS failure.
 */
export function tlsFailure(error: unknown): { readonly kind: 'refused' | 'untrusted' | 'not-tls'; readonly reason: string } | null {
  const found = error as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (found === null || typeof found !== 'object') return null;
  const code = typeof found.code === 'string' ? found.code : '';
  const message = typeof found.message === 'string' ? found.message : '';
  const verify = VERIFY_FAILURES[code];
  if (verify !== undefined) return { kind: 'untrusted', reason: `${verify} (${code})` };
  const alert = ALERTS[code];
  if (alert !== undefined) return { kind: 'refused', reason: `${alert} (${code})` };
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || (code === 'EPROTO' && /wrong version number/.test(message))) {
    return { kind: 'not-tls', reason: `it does not speak TLS (${code === 'EPROTO' ? 'wrong version number' : code})` };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return { kind: code.includes('_ALERT_') ? 'refused' : 'untrusted', reason: `${message.split(':').at(-1)?.trim() || message} (${code})` };
  }
  return found.cause === undefined ? null : tlsFailure(found.cause);
}

/**
 * Why a server refused a client's TLS handshake (its `tlsClientError`), in words for a log line; null
 * when it did not refuse it, but the client hung up (a client that does not trust the server's
 * certificate does that). `verifyError`: the socket's `authorizationError`, the code of the
 * verification the client's certificate failed, when it presented one (Node then closes the
 * connection without saying why).
 */
export function tlsClientRefusal(error: Error & { code?: string }, verifyError: string | null | undefined): string | null {
  if (verifyError !== null && verifyError !== undefined && verifyError !== '') {
    return `its certificate is not trusted: ${VERIFY_FAILURES[verifyError] ?? 'verification failed'} (${verifyError})`;
  }
  const code = error.code ?? '';
  if (code === 'ECONNRESET') return null;
  if (code === 'ERR_SSL_HTTP_REQUEST' || /wrong version number|http request|packet length too long/i.test(error.message)) {
    return `it does not speak TLS (plain ws:// or http://?) (${code})`;
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return `it presented no certificate (${code})`;
  const alert = ALERTS[code];
  if (alert !== undefined) return `it refused this node's certificate: ${alert} (${code})`;
  return `TLS handshake failed: ${code === '' ? error.message : code}`;
}
