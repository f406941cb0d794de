/**
 * The route template of a request to a documented route (OpenAPI `{id}` → express `:id`), known before
 * authentication, rate limiting or the drain guard can answer it, so a 401, 429 or 503 is counted under its route,
 * not `unmatched`. Without it the label is only known once the route's own handlers run (requireScope marks it).
 *
 * Matches as express's router does for the routes themselves (it was an express Router of label-only routes, which
 * cost a full routing pass per request): case-insensitive, an optional trailing slash, `:param` = one non-empty path
 * segment, HEAD as GET, and a path parameter that is not valid percent-encoding is a 400 (express's error, thrown
 * whatever the method, before any other check).
 */
import type { openApiDocument } from '../openapi';

const METHODS = new Set(['get', 'post', 'delete', 'put', 'patch']);

interface Template {
  label: string;
  re: RegExp;
  methods: Set<string>;
}

const escape = (s: string) => s.replace(/[.+*?^${}()[\]|\\]/g, '\\$&');

function decodeParam(val: string): void {
  try {
    decodeURIComponent(val);
  } catch (err) {
    if (err instanceof URIError) {
      throw Object.assign(err, { message: `Failed to decode param '${val}'`, status: 400, statusCode: 400 });
    }
    throw err;
  }
}

/** `(method, path)` → the template of the documented route it names, or undefined. */
export function routeLabeler(doc: ReturnType<typeof openApiDocument>): (method: string, path: string) => string | undefined {
  const templates: Template[] = Object.entries(doc.paths).map(([path, ops]) => {
    const label = path.replace(/\{(\w+)\}/g, ':$1');
    const pattern = label.split(/:\w+/).map(escape).join('([^/]+)');
    return {
      label,
      re: new RegExp(`^${pattern}/?$`, 'i'),
      methods: new Set(
        Object.keys(ops)
          .filter((m) => METHODS.has(m))
          .map((m) => m.toUpperCase()),
      ),
    };
  });
  return (method, path) => {
    let found: string | undefined;
    for (const t of templates) {
      const m = t.re.exec(path);
      if (!m) continue;
      for (let i = 1; i < m.length; i++) decodeParam(m[i]);
      if (found === undefined && (t.methods.has(method) || (method === 'HEAD' && t.methods.has('GET')))) found = t.label;
    }
    return found;
  };
}
