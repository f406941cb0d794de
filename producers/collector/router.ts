/**
 * POST /v1/events — the HTTP door for platforms that cannot speak Kafka.
 *
 * Body: a JSON array (1..maxEvents items, at most maxBodyBytes) of envelopes `{ "kind": <kind>, ...event fields }`,
 * kind one of interaction | quizAttempt | resource | profile | erasure; the other fields are exactly the Avro record
 * of that kind (LearningInteraction, QuizAttempt, Resource, LearnerProfile, ErasureRequest), fields with a default
 * may be omitted. Validation is the same validateEvent the consumers run.
 *
 * Answers:
 *  - 202 `{accepted, rejected, errors: [{index, kind, reason, issues: [{path, code, message}]}]}` once Kafka
 *    acknowledged every valid event. A mixed batch is partly accepted: valid events are published, invalid ones are
 *    listed by index (`reason` invalid-kind | invalid-event) and never published. Check `rejected`.
 *  - 400 problem+json when nothing in the batch is valid (or the body is not a non-empty array / not JSON); `errors`
 *    lists every problem as `{param: "[i].field", message}`.
 *  - 403 problem+json `forbidden` when the caller's grant does not cover some event (producers/authorize.ts: an
 *    erasure without `admin`, a resource or profile outside a bound key's id prefix); nothing of the batch is
 *    published, `errors` / `events` list each refused event. A permission error is about the caller, not the data, so
 *    it is not mixed into a partly accepted batch.
 *  - 413 too many events or too many bytes; 415 not application/json.
 *  - 503 (Retry-After) when Kafka did not acknowledge within the publisher's delivery timeout (api.publishTimeoutMs,
 *    1.5 s, so the answer comes within 2 s): `published` / `failed` list indexes, `maybeWritten` the failed ones that
 *    had been handed to the broker and may be in Kafka anyway (the rest are not, and never will be). Retry `failed`
 *    with the same eventIds; a retried event that had been written is a duplicate, which consumers drop by eventId.
 *  - 500 only when Kafka refused a record for good (not an outage): a bug or a misconfiguration.
 * Authentication and rate limiting are done by the API middleware mounted before this router; the grant of each event
 * is checked here, with the key that middleware identified (res.locals.apiKey).
 */
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { ForbiddenError } from '../../lib/errors';
import { NotAcknowledgedError, ValidationError } from '../../lib/errors';
import { isRetriable } from '../../lib/retry';
import { createLogger, type Logger } from '../../lib/log';
import { EVENT_KINDS, KIND_EVENT, validateEvent, type EventKind, type KindedEvent } from '../../schemas';
import type { ValidationIssue } from '../../schemas/validate';
import { denyEvent, denyKind, type Grant } from '../authorize';
import type { Publisher } from '../publisher';
import { sendProblem, type ProblemError } from '../../lib/problems';

export interface CollectorLimits {
  /** Most events per request. Default 500 (config.api.maxBatchEvents). */
  maxEvents: number;
  /** Most bytes per request body. Default 1 MiB (config.api.maxBodyBytes). */
  maxBodyBytes: number;
}

export interface CollectorOptions {
  publisher: Pick<Publisher, 'publishValid'>;
  limits?: Partial<CollectorLimits>;
  /** Clock for the future-timestamp rule, epoch ms. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  /**
   * The grant of the request's caller. Default: the API key the API's authentication put in res.locals.apiKey. No
   * grant = 401: the collector fails closed when mounted without authentication in front of it.
   */
  grantOf?: (req: Request, res: Response) => Grant | undefined;
}

/** A validation issue, or why the caller may not publish the event (missing-scope, outside-prefix). */
export type EventIssue = Omit<ValidationIssue, 'code'> & { code: ValidationIssue['code'] | ForbiddenError['code'] };

export interface RejectedEvent {
  index: number;
  kind: string | null;
  reason: 'invalid-kind' | 'invalid-event' | 'forbidden';
  issues: EventIssue[];
}

export interface CollectorResponse {
  accepted: number;
  rejected: number;
  errors: RejectedEvent[];
}

export function createCollectorRouter(opts: CollectorOptions): Router {
  const limits: CollectorLimits = { maxEvents: 500, maxBodyBytes: 1_048_576, ...opts.limits };
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? createLogger({ base: { component: 'collector' } });
  const grantOf = opts.grantOf ?? ((_req: Request, res: Response) => res.locals.apiKey as Grant | undefined);
  const router = express.Router();

  const JSON_TYPES = ['application/json', 'application/*+json'];
  const requireJson = (req: Request, res: Response, next: () => void) => {
    if (req.is(JSON_TYPES)) next();
    else sendProblem(res, 'unsupported-media-type', 'send the events as Content-Type: application/json');
  };

  router.post(
    '/',
    requireJson,
    express.json({ limit: limits.maxBodyBytes, strict: false, type: JSON_TYPES }),
    async (req: Request, res: Response) => {
      const grant = grantOf(req, res);
      if (!grant) {
        sendProblem(res, 'unauthenticated', 'the collector needs an authenticated caller (an API key)');
        return;
      }
      const body: unknown = req.body;
      if (!Array.isArray(body)) {
        sendProblem(res, 'invalid-request', 'the body must be a JSON array of events', {
          errors: [{ param: 'body', message: 'expected a JSON array' }],
        });
        return;
      }
      if (body.length === 0) {
        sendProblem(res, 'invalid-request', 'the batch is empty', { errors: [{ param: 'body', message: 'expected at least one event' }] });
        return;
      }
      if (body.length > limits.maxEvents) {
        sendProblem(res, 'payload-too-large', `at most ${limits.maxEvents} events per request, got ${body.length}`, {
          errors: [{ param: 'body', message: `split the batch into requests of at most ${limits.maxEvents} events` }],
        });
        return;
      }

      const valid: { index: number; event: KindedEvent }[] = [];
      const rejected: RejectedEvent[] = [];
      const forbidden: RejectedEvent[] = [];
      const refuse = (index: number, kind: string, err: ForbiddenError) =>
        forbidden.push({ index, kind, reason: 'forbidden', issues: [{ path: err.field ?? 'kind', code: err.code, message: err.message }] });
      const at = now();
      body.forEach((item: unknown, index) => {
        const kind = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as { kind?: unknown }).kind : undefined;
        if (typeof kind !== 'string' || !EVENT_KINDS.includes(kind as EventKind)) {
          const issue: ValidationIssue = {
            path: 'kind',
            code: kind === undefined ? 'missing-field' : 'invalid-type',
            message: `kind must be one of ${EVENT_KINDS.join(', ')}`,
          };
          rejected.push({ index, kind: typeof kind === 'string' ? kind.slice(0, 64) : null, reason: 'invalid-kind', issues: [issue] });
          return;
        }
        // the scope first, whatever the fields: a write key learns that erasures are not its business, not their rules
        const deniedKind = denyKind(grant, kind as EventKind);
        if (deniedKind) return void refuse(index, kind, deniedKind);
        const { kind: _k, ...fields } = item as Record<string, unknown>;
        const r = validateEvent(KIND_EVENT[kind as EventKind], fields, { now: at });
        if (!r.ok) return void rejected.push({ index, kind, reason: 'invalid-event', issues: r.issues });
        const event = { kind, event: r.value } as KindedEvent;
        const deniedId = denyEvent(grant, event);
        if (deniedId) refuse(index, kind, deniedId);
        else valid.push({ index, event });
      });

      if (forbidden.length > 0) {
        const errors: ProblemError[] = forbidden.map((f) => ({ param: `[${f.index}].${f.issues[0].path}`, message: f.issues[0].message }));
        sendProblem(
          res,
          'forbidden',
          `${forbidden.length} of the ${body.length} events are not allowed for this API key; nothing was published`,
          { errors: errors.slice(0, 1000), events: forbidden.slice(0, 1000) },
        );
        return;
      }

      if (valid.length === 0) {
        const errors: ProblemError[] = rejected.flatMap((r) =>
          r.issues.map((i) => ({ param: `[${r.index}]${i.path ? `.${i.path}` : ''}`, message: `${i.message} (${i.code})` })),
        );
        sendProblem(res, 'invalid-request', `none of the ${body.length} events is valid`, {
          errors: errors.slice(0, 1000),
          events: rejected.slice(0, 1000),
        });
        return;
      }

      const results = await Promise.allSettled(valid.map((v) => opts.publisher.publishValid(v.event)));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ index: valid[i].index, error: r.reason as unknown }] : []));
      if (failed.length > 0) {
        const first = failed[0].error;
        log.warn('publish failed', { failed: failed.length, of: valid.length, error: first as Error });
        const published = results.flatMap((r, i) => (r.status === 'fulfilled' ? [valid[i].index] : []));
        // Any outage among the failures makes it a 503: the client's answer to it (retry later) is right for all of them.
        const retriable = failed.some((f) => isRetriable(f.error));
        const maybeWritten = failed.filter((f) => !(f.error instanceof NotAcknowledgedError) || f.error.inDoubt).map((f) => f.index);
        sendProblem(
          res,
          retriable ? 'dependency-unavailable' : 'internal',
          retriable
            ? 'Kafka did not acknowledge every event; retry the failed ones with the same eventIds (a duplicate is dropped by eventId)'
            : 'publishing failed',
          { published, failed: failed.map((f) => f.index), maybeWritten, rejected: rejected.length, events: rejected },
          retriable ? { 'retry-after': '1' } : {},
        );
        return;
      }
      const response: CollectorResponse = { accepted: valid.length, rejected: rejected.length, errors: rejected };
      res.status(202).json(response);
    },
  );

  // Body-parser failures (malformed JSON, too large) and anything unexpected, as problem+json.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') sendProblem(res, 'payload-too-large', `the body exceeds ${limits.maxBodyBytes} bytes`);
    else if (e.type === 'entity.parse.failed')
      sendProblem(res, 'invalid-request', 'the body is not valid JSON', {
        errors: [{ param: 'body', message: String(e.message).slice(0, 200) }],
      });
    else if (err instanceof ValidationError || (typeof e.status === 'number' && e.status >= 400 && e.status < 500))
      sendProblem(res, 'invalid-request', String(e.message).slice(0, 500));
    else {
      log.error('collector error', { error: err as Error });
      sendProblem(res, 'internal', 'unexpected error');
    }
  };
  router.use(onError);
  return router;
}
