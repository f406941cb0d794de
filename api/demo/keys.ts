/**
 * Which configured API keys the demo page may use. The browser gets a key that can only read; the demo's writes use a
 * key that can write but not administer, and it never leaves the server. Neither is the admin key.
 */
import type { ApiKey } from '../../lib/config';

export interface DemoKeys {
  /** Sent to the browser: scopes exactly `read`. */
  browserRead?: ApiKey;
  /** Held by the server for POST /demo/events: `write` without `admin`. */
  serverWrite?: ApiKey;
}

export function demoKeys(keys: readonly ApiKey[]): DemoKeys {
  return {
    browserRead: keys.find((k) => k.scopes.length > 0 && k.scopes.every((s) => s === 'read')),
    serverWrite: keys.find((k) => k.scopes.includes('write') && !k.scopes.includes('admin')),
  };
}
