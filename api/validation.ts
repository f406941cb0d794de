/**
 * Query and path parameter parsing with clear, collected messages: one 400 lists every problem of the request, not
 * just the first. Unknown query parameters are rejected too, so a typo (`limt=5`) is never silently ignored.
 */
import { HttpProblem } from '../lib/problems';

/**
 * What parameters are read from: an express Request, or the node:http fast path's parse of the same URL (path
 * parameters by name, the query as express's 'simple' query parser, node:querystring, returns it).
 */
export interface ParamSource {
  readonly params: Readonly<Record<string, string | string[] | undefined>>;
  readonly query: Readonly<Record<string, unknown>>;
}

type Issue = { param: string; message: string };

export const ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

export class Params {
  readonly issues: Issue[] = [];
  // Express 5's req.query is a getter that parses the query string again on every access (six times per request
  // here before this copy).
  private readonly query: ParamSource['query'];
  constructor(
    private readonly req: ParamSource,
    allowed: readonly string[],
  ) {
    this.query = req.query;
    for (const name of Object.keys(this.query)) {
      if (!allowed.includes(name)) {
        this.issues.push({ param: name, message: `unknown query parameter '${name}'; allowed: ${allowed.join(', ') || '(none)'}` });
      }
    }
  }

  private raw(name: string): string | undefined {
    const v = this.query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.issues.push({ param: name, message: `'${name}' must be given once, as a plain value` });
      return undefined;
    }
    return v;
  }

  /** A path id: 1..128 characters of letters, digits and . _ : @ -. */
  id(name: string): string {
    const v = String(this.req.params[name] ?? '');
    if (!ID_PATTERN.test(v))
      this.issues.push({ param: name, message: `'${name}' must be 1..128 characters of letters, digits, '.', '_', ':', '@' or '-'` });
    return v;
  }

  int(name: string, opts: { def: number; min: number; max: number }): number {
    const v = this.raw(name);
    if (v === undefined) return opts.def;
    if (!/^\d+$/.test(v) || Number(v) < opts.min || Number(v) > opts.max) {
      this.issues.push({ param: name, message: `'${name}' must be an integer from ${opts.min} to ${opts.max}, got '${v.slice(0, 32)}'` });
      return opts.def;
    }
    return Number(v);
  }

  bool(name: string, def = false): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    this.issues.push({ param: name, message: `'${name}' must be true or false, got '${v.slice(0, 32)}'` });
    return def;
  }

  enumOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      this.issues.push({ param: name, message: `'${name}' must be one of ${values.join(', ')}, got '${v.slice(0, 32)}'` });
      return undefined;
    }
    return v as T;
  }

  /** A free-text label such as a topic or skill id: 1..128 characters, no control characters. */
  label(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    // eslint-disable-next-line no-control-regex
    if (v.length < 1 || v.length > 128 || /[\u0000-\u001f]/.test(v)) {
      this.issues.push({ param: name, message: `'${name}' must be 1..128 characters without control characters` });
      return undefined;
    }
    return v;
  }

  string(name: string, maxLen: number): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && v.length > maxLen) this.issues.push({ param: name, message: `'${name}' must be at most ${maxLen} characters` });
    return v;
  }

  /** Throws one 400 problem listing every issue found so far. */
  done(): void {
    if (this.issues.length === 0) return;
    throw new HttpProblem('invalid-request', this.issues.map((i) => i.message).join('; '), { errors: this.issues });
  }
}
