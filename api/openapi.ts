/**
 * The OpenAPI 3.1 document of the read API, hand-written (the contract comes first; tests validate real responses
 * against these schemas, so the document cannot drift from the code). Served at GET /openapi.json.
 */
import { PROBLEM_BASE, PROBLEMS } from '../lib/problems';
import { RESOURCE_TYPES } from './routes/learners';

const REASON_CODES = [
  'similar-learners',
  'matches-interest',
  'right-level',
  'next-after',
  'popular',
  'popular-in-interest',
  'content-similar',
  'co-engaged',
  'new-resource',
  'because-you-did',
  'due-for-review',
];
const SOURCES = ['personal', 'cold-start:interests', 'popular-in-interest', 'popular'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const json = (description: string, schema: object, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});

const userIdParam = {
  name: 'userId',
  in: 'path',
  required: true,
  description: 'Pseudonymous learner id.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' },
};
const limitParam = {
  name: 'limit',
  in: 'query',
  required: false,
  description: 'Items to return (default 10).',
  schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
};
const authErrors = {
  '400': problem('Malformed parameters; `errors` lists each one.'),
  '401': problem('Missing or unknown API key.'),
  '403': problem('The key lacks the required scope.'),
  '429': problem('Rate limit exceeded; see Retry-After.'),
  '500': problem('Unexpected error; the requestId identifies it in the logs.'),
  '503': problem('Redis (or Kafka, for writes) unavailable, or the server is draining.'),
};

export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'learnstream read API',
      version: '1.0.0',
      description:
        'Live learning-resource recommendations with reasons, similar resources and per-skill knowledge, served from ' +
        'the Redis lists the streaming pipeline keeps fresh. Errors are RFC 9457 problem+json with stable `type` URIs.',
    },
    servers: [{ url: 'http://127.0.0.1:18080' }],
    security: [{ apiKey: [] }, { bearer: [] }],
    paths: {
      '/v1/learners/{userId}/recommendations': {
        get: {
          operationId: 'getRecommendations',
          summary: "A learner's current top-N, filtered server-side; a labelled fallback for unknown or cold learners.",
          description: 'Scope `read`. Completed and inactive resources are never returned.',
          parameters: [
            userIdParam,
            limitParam,
            { name: 'type', in: 'query', required: false, schema: { type: 'string', enum: RESOURCE_TYPES } },
            { name: 'topic', in: 'query', required: false, schema: { type: 'string', minLength: 1, maxLength: 128 } },
            { name: 'skill', in: 'query', required: false, schema: { type: 'string', minLength: 1, maxLength: 128 } },
            {
              name: 'explain',
              in: 'query',
              required: false,
              description: 'Include score and reasons per item.',
              schema: { type: 'boolean', default: false },
            },
          ],
          responses: { '200': json('Recommendations.', ref('Recommendations')), ...authErrors },
        },
      },
      '/v1/learners/{userId}/knowledge': {
        get: {
          operationId: 'getKnowledge',
          summary: 'Per-skill mastery with uncertainty (empty for an unknown learner). Scope `read`.',
          parameters: [userIdParam],
          responses: { '200': json('Knowledge state.', ref('Knowledge')), ...authErrors },
        },
      },
      '/v1/learners/{userId}/reviews': {
        get: {
          operationId: 'getReviews',
          summary:
            'What is due for spaced review (FSRS cards of what the learner practised: quiz attempts rate them, interactions sent with `review: true` too), ' +
            'the least likely to be recalled first; empty for an unknown learner. Scope `read`.',
          parameters: [
            userIdParam,
            {
              name: 'limit',
              in: 'query',
              required: false,
              description: 'Most due cards returned. Default 20.',
              schema: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            },
          ],
          responses: { '200': json('Due reviews.', ref('Reviews')), ...authErrors },
        },
      },
      '/v1/learners/{userId}/path': {
        get: {
          operationId: 'getLearningPath',
          summary: 'Ordered steps from where the learner stands to a goal, over the prerequisite graph. Scope `read`.',
          description:
            'Every step has each prerequisite mastered (P(success) ≥ `masteryThreshold`, 0.8, from the stored per-skill ' +
            'knowledge; or completed) or earlier in the path; mastered resources are skipped. `goal` is a resource id, ' +
            'else a skill id (the resources that train it), else free text resolved with the content encoder to the ' +
            'nearest resource (`goal.matches` lists the nearest resources and skills with their cosines). A goal already ' +
            'mastered answers 200 with `status: goal-mastered` and no steps.',
          parameters: [
            userIdParam,
            {
              name: 'goal',
              in: 'query',
              required: true,
              description: 'Resource id, skill id or free text (any language the encoder reads).',
              schema: { type: 'string', minLength: 1, maxLength: 512 },
            },
            {
              name: 'max',
              in: 'query',
              required: false,
              description: 'Most steps returned (the first ones; itself a valid path). Default 20.',
              schema: { type: 'integer', minimum: 1, maximum: 500, default: 20 },
            },
          ],
          responses: {
            '200': json('The path, or an empty one saying why.', ref('LearningPath')),
            ...authErrors,
            '404': problem(
              '`unknown-goal`: no resource, skill or close enough text match (with `matches` for free text), or the goal is no longer offered.',
            ),
            '409': problem(
              '`prerequisite-cycle`: the unmastered prerequisites of the goal form a cycle, listed in `cycle` (with the resolved `goal`).',
            ),
            '503': problem(
              'Redis unavailable, the server is draining, or `encoder-unavailable`: a free-text goal and no content encoder could be loaded.',
            ),
          },
        },
      },
      '/v1/learners/{userId}': {
        delete: {
          operationId: 'eraseLearner',
          summary: 'Right to erasure: publishes an ErasureRequest to privacy.erasures; every stage forgets the learner. Scope `admin`.',
          parameters: [userIdParam, { name: 'reason', in: 'query', required: false, schema: { type: 'string', maxLength: 1024 } }],
          responses: { '202': json('Accepted; processed asynchronously by the pipeline.', ref('ErasureAccepted')), ...authErrors },
        },
      },
      '/v1/resources/{id}/similar': {
        get: {
          operationId: 'getSimilar',
          summary: 'Resources similar to one resource (content similarity plus co-engagement). Scope `read`.',
          parameters: [{ ...userIdParam, name: 'id', description: 'Resource id.' }, limitParam],
          responses: { '200': json('Similar resources.', ref('Similar')), '404': problem('Unknown resource.'), ...authErrors },
        },
      },
      '/v1/events': {
        post: {
          operationId: 'postEvents',
          summary: 'HTTP collector: a batch of learning events, validated and produced to Kafka. Scope `write`.',
          description:
            'A JSON array (1..api.maxBatchEvents) of envelopes `{"kind": ..., ...fields}`; the fields are exactly the Avro ' +
            'record of the kind (schemas/*.avsc). Valid events are published and acknowledged before the answer; invalid ' +
            'ones are listed by index. All invalid → 400. Retrying a batch is safe: the pipeline applies each interaction and quiz-attempt eventId once per learner (within the last 512 such events of that learner).',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'array',
                  minItems: 1,
                  items: {
                    type: 'object',
                    required: ['kind'],
                    properties: { kind: { type: 'string', enum: ['interaction', 'quizAttempt', 'resource', 'profile', 'erasure'] } },
                  },
                },
              },
            },
          },
          responses: {
            '202': json('Every valid event was acknowledged by Kafka; `errors` lists the rejected ones.', ref('CollectorResponse')),
            '413': problem('Too many events or bytes.'),
            '415': problem('Not application/json.'),
            ...authErrors,
          },
        },
      },
      '/healthz': {
        get: { operationId: 'healthz', security: [], summary: 'Liveness.', responses: { '200': json('Alive.', ref('Health')) } },
      },
      '/readyz': {
        get: {
          operationId: 'readyz',
          security: [],
          summary: 'Readiness: Redis, Kafka, schema registry and serving data checked.',
          parameters: [
            {
              name: 'checks',
              in: 'query',
              required: false,
              description:
                'Comma-separated subset of redis, kafka, registry, model to run (default all); an unknown name fails. Orchestrator readiness probes use `redis`, so a Kafka outage does not take the read API out of service.',
              schema: { type: 'string', pattern: '^[a-z]+(,[a-z]+)*$' },
            },
          ],
          responses: { '200': json('Ready.', ref('Ready')), '503': json('Not ready or draining.', ref('Ready')) },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          security: [],
          summary: 'Prometheus metrics (text exposition format).',
          responses: { '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          security: [],
          summary: 'This document.',
          responses: { '200': json('OpenAPI 3.1 document.', { type: 'object' }) },
        },
      },
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        Problem: {
          type: 'object',
          description:
            'RFC 9457 problem details; extension members may be present (the collector adds `events`, `published`, `failed`; `prerequisite-cycle` adds `cycle`, a free-text `unknown-goal` adds `matches`).',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string', enum: Object.keys(PROBLEMS).map((k) => PROBLEM_BASE + k) },
            title: { type: 'string' },
            status: { type: 'integer', minimum: 400, maximum: 599 },
            detail: { type: 'string' },
            instance: { type: 'string' },
            requestId: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['param', 'message'],
                additionalProperties: false,
                properties: { param: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
        CollectorResponse: {
          type: 'object',
          required: ['accepted', 'rejected', 'errors'],
          additionalProperties: false,
          properties: {
            accepted: { type: 'integer', minimum: 0 },
            rejected: { type: 'integer', minimum: 0 },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['index', 'kind', 'reason', 'issues'],
                properties: {
                  index: { type: 'integer', minimum: 0 },
                  kind: { type: ['string', 'null'] },
                  reason: { type: 'string', enum: ['invalid-kind', 'invalid-event'] },
                  issues: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['path', 'code', 'message'],
                      properties: { path: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
        },
        Reason: {
          type: 'object',
          required: ['code', 'text'],
          additionalProperties: false,
          properties: { code: { type: 'string', enum: REASON_CODES }, text: { type: 'string' }, ref: { type: 'string' } },
        },
        RecommendedItem: {
          type: 'object',
          required: ['resourceId', 'source'],
          additionalProperties: false,
          properties: {
            resourceId: { type: 'string' },
            title: { type: 'string' },
            type: { type: 'string' },
            topics: { type: 'array', items: { type: 'string' } },
            skills: { type: 'array', items: { type: 'string' } },
            source: { type: 'string', enum: SOURCES },
            score: { type: 'number', description: 'Only with explain=true.' },
            reasons: { type: 'array', items: ref('Reason'), description: 'Only with explain=true.' },
          },
        },
        Recommendations: {
          type: 'object',
          required: [
            'userId',
            'source',
            'fallback',
            'modelVersion',
            'generatedAt',
            'eventTime',
            'count',
            'items',
            'recommId',
            'experiment',
            'variant',
          ],
          additionalProperties: false,
          properties: {
            userId: { type: 'string' },
            recommId: {
              type: 'string',
              pattern: '^(?:[a-z0-9_-]{1,32}\\.[a-z0-9_-]{1,32}\\.)?[a-z0-9]{1,24}$',
              description:
                'Id of this list: quote it in the impression and click events it leads to (POST /v1/events, field recommId). The same stored list keeps its recommId; a re-ranked list gets a new one.',
            },
            experiment: {
              type: ['string', 'null'],
              description: 'The active experiment (config `experiments`, docs/experiments.md); null when none is.',
            },
            variant: {
              type: ['string', 'null'],
              description:
                "The variant the list was ranked under (or, for a fallback page, the learner's assigned variant); null outside any experiment.",
            },
            source: { type: 'string', enum: SOURCES, description: 'Source of the first item; anything but `personal` is a fallback.' },
            fallback: { type: 'boolean' },
            modelVersion: { type: ['string', 'null'] },
            generatedAt: { type: ['integer', 'null'], description: 'Epoch ms the cached list was computed.' },
            eventTime: { type: ['integer', 'null'], description: 'Epoch ms of the newest event the list reflects.' },
            count: { type: 'integer', minimum: 0 },
            items: { type: 'array', items: ref('RecommendedItem') },
          },
        },
        Similar: {
          type: 'object',
          required: ['resourceId', 'source', 'count', 'items'],
          additionalProperties: false,
          properties: {
            resourceId: { type: 'string' },
            source: { type: 'string', enum: ['similar', 'popular-in-topic'] },
            count: { type: 'integer', minimum: 0 },
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['resourceId', 'score', 'reasons'],
                additionalProperties: false,
                properties: {
                  resourceId: { type: 'string' },
                  title: { type: 'string' },
                  type: { type: 'string' },
                  score: { type: 'number' },
                  reasons: { type: 'array', items: ref('Reason') },
                },
              },
            },
          },
        },
        Reviews: {
          type: 'object',
          required: ['userId', 'now', 'updatedAt', 'cards', 'due', 'totalDue', 'nextDue'],
          additionalProperties: false,
          properties: {
            userId: { type: 'string' },
            now: { type: 'integer', description: 'Epoch ms the due-ness was computed at.' },
            updatedAt: { type: ['integer', 'null'], description: 'When the learner stage last wrote the cards; null = none.' },
            cards: { type: 'integer', minimum: 0, description: 'Cards the learner has, due or not (at most 200).' },
            totalDue: { type: 'integer', minimum: 0 },
            nextDue: { type: ['integer', 'null'], description: 'Earliest due time (epoch ms) of a card not yet due.' },
            due: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'kind', 'due', 'retrievability', 'stability', 'difficulty', 'reps', 'lapses', 'lastReview'],
                additionalProperties: false,
                properties: {
                  id: { type: 'string', description: 'Resource id (kind resource) or quiz item id (kind item: an item with no resource).' },
                  kind: { type: 'string', enum: ['resource', 'item'] },
                  due: { type: 'integer', description: 'Epoch ms it fell due.' },
                  retrievability: { type: 'number', minimum: 0, maximum: 1, description: 'FSRS probability of recall now.' },
                  stability: { type: 'number', minimum: 0, description: 'FSRS stability (days until recall falls to 90%).' },
                  difficulty: { type: 'number', description: 'FSRS difficulty, 1..10.' },
                  reps: { type: 'integer', minimum: 0 },
                  lapses: { type: 'integer', minimum: 0 },
                  lastReview: { type: 'integer', description: 'Epoch ms of the last review.' },
                },
              },
            },
          },
        },
        Knowledge: {
          type: 'object',
          required: ['userId', 'updatedAt', 'skills'],
          additionalProperties: false,
          properties: {
            userId: { type: 'string' },
            updatedAt: { type: ['integer', 'null'] },
            skills: {
              type: 'array',
              items: {
                type: 'object',
                required: ['skill', 'mastery', 'uncertainty', 'attempts'],
                additionalProperties: false,
                properties: {
                  skill: { type: 'string' },
                  mastery: {
                    type: 'number',
                    minimum: 0,
                    maximum: 1,
                    description:
                      'P(correct) on an item of the skill, its items weighted by how often they are answered; items this learner answered count with their own history.',
                  },
                  uncertainty: { type: 'number', minimum: 0, description: 'Standard deviation of the ability estimate (logits).' },
                  attempts: { type: 'integer', minimum: 0 },
                },
              },
            },
          },
        },
        GoalMatch: {
          type: 'object',
          required: ['kind', 'id', 'cosine'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['resource', 'skill'] },
            id: { type: 'string' },
            title: { type: 'string' },
            cosine: { type: 'number', minimum: -1, maximum: 1 },
          },
        },
        PathStep: {
          type: 'object',
          required: ['resourceId', 'pSuccess', 'unlocks', 'prerequisites', 'missing', 'skills', 'reason'],
          additionalProperties: false,
          properties: {
            resourceId: { type: 'string' },
            title: { type: 'string' },
            pSuccess: {
              type: ['number', 'null'],
              minimum: 0,
              maximum: 1,
              description: 'Knowledge-model P(success): product of the masteries of its skills; null when a skill has no estimate.',
            },
            unlocks: { type: 'array', items: { type: 'string' }, description: 'Later steps this one is a direct prerequisite of.' },
            prerequisites: {
              type: 'array',
              items: { type: 'string' },
              description: 'Its prerequisites, each mastered or an earlier step.',
            },
            missing: { type: 'array', items: { type: 'string' }, description: 'Prerequisites not in the catalogue (cannot be planned).' },
            skills: { type: 'array', items: { type: 'string' } },
            reason: {
              type: 'object',
              required: ['code', 'text'],
              additionalProperties: false,
              properties: {
                code: {
                  type: 'string',
                  enum: ['goal', 'prerequisite', 'review'],
                  description:
                    "'review': a prerequisite that looked mastered, offered again because a step building on it keeps failing (ref).",
                },
                text: { type: 'string' },
                ref: { type: 'string', description: 'The goal (or step) it is needed for.' },
              },
            },
          },
        },
        LearningPath: {
          type: 'object',
          required: ['userId', 'goal', 'masteryThreshold', 'status', 'reason', 'steps', 'totalSteps', 'truncated', 'ancestors'],
          additionalProperties: false,
          properties: {
            userId: { type: 'string' },
            goal: {
              type: 'object',
              required: ['query', 'kind', 'resourceIds'],
              additionalProperties: false,
              properties: {
                query: { type: 'string' },
                kind: { type: 'string', enum: ['resource', 'skill', 'text'] },
                resourceIds: { type: 'array', items: { type: 'string' }, description: 'The resources planned to.' },
                skill: { type: 'string' },
                matches: {
                  type: 'array',
                  items: ref('GoalMatch'),
                  description: 'Free text only: nearest resources, then skills, by cosine ("did you mean").',
                },
                resolvedBy: {
                  type: 'string',
                  enum: ['encoder', 'title-ngram'],
                  description:
                    'Free text only: the content encoder (English), or, for Chinese / Japanese / Korean text, character bigrams against titles (`cosine` then holds the Dice score).',
                },
              },
            },
            masteryThreshold: { type: 'number' },
            status: { type: 'string', enum: ['path', 'goal-mastered'] },
            reason: { type: 'string' },
            steps: { type: 'array', items: ref('PathStep') },
            totalSteps: { type: 'integer', minimum: 0, description: 'Steps of the whole path (steps holds the first `max`).' },
            truncated: { type: 'boolean' },
            ancestors: { type: 'integer', minimum: 0, description: 'Resources read to plan, mastered ones included.' },
          },
        },
        ErasureAccepted: {
          type: 'object',
          required: ['requestId', 'userId', 'requestedAt', 'status'],
          additionalProperties: false,
          properties: {
            requestId: { type: 'string' },
            userId: { type: 'string' },
            requestedAt: { type: 'integer' },
            status: { const: 'accepted' },
          },
        },
        Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
        Ready: {
          type: 'object',
          required: ['status', 'checks'],
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['ready', 'not-ready', 'draining'] },
            checks: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                required: ['ok', 'latencyMs'],
                additionalProperties: false,
                properties: { ok: { type: 'boolean' }, latencyMs: { type: 'integer' }, error: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  };
}
