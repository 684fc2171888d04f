import type { ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';

/**
 * Answers `GET /metrics`: the node's metrics in the registry's text format (Prometheus, or
 * OpenMetrics for a registry made so), with its content type. `failed` answers an error instead.
 */
export function serveMetrics(registry: Registry<RegistryContentType>, res: ServerResponse, failed: (error: unknown) => void): void {
  registry.metrics().then((text) => {
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }, failed);
}
