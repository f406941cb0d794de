/** A tiny fetch wrapper for API tests that validates every response against the OpenAPI document. */
import { assertMatchesOpenApi } from './api-openapi';

export interface Reply {
  status: number;
  headers: Headers;
  contentType: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, checked by assertMatchesOpenApi
  body: any;
}

export function apiClient(base: string, defaultKey?: string) {
  return async function call(
    method: string,
    path: string,
    opts: { key?: string | null; headers?: Record<string, string>; body?: unknown; validate?: boolean } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? defaultKey : opts.key;
    if (key) headers['x-api-key'] = key;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    const contentType = res.headers.get('content-type');
    const text = await res.text();
    const body = contentType?.includes('json') ? JSON.parse(text) : text;
    const reply = { status: res.status, headers: res.headers, contentType, body };
    if (opts.validate !== false) assertMatchesOpenApi(method, path, reply);
    return reply;
  };
}
