/**
 * Validates real HTTP responses against the served OpenAPI 3.1 document (JSON Schema 2020-12 dialect, ajv).
 * Shared by the unit and integration API tests; not a test file itself.
 */
import Ajv2020 from 'ajv/dist/2020';
import { openApiDocument } from '../../api/openapi';

const doc = openApiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(doc, 'openapi');

const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Turns a concrete path (/v1/learners/u1/knowledge) into its template (/v1/learners/{userId}/knowledge). */
export function templateOf(path: string): string {
  const clean = path.split('?')[0];
  for (const t of Object.keys(doc.paths)) {
    const re = new RegExp('^' + t.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(clean)) return t;
  }
  throw new Error(`path ${clean} is not in the OpenAPI document`);
}

/** Throws with ajv's messages unless (method, path, status, content type, body) is a response the document allows. */
export function assertMatchesOpenApi(
  method: string,
  path: string,
  res: { status: number; contentType: string | null; body: unknown },
): void {
  const t = templateOf(path);
  const op = (doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)[t][
    method.toLowerCase()
  ];
  if (!op) throw new Error(`${method} ${t} is not in the OpenAPI document`);
  const response = op.responses[String(res.status)];
  if (!response)
    throw new Error(
      `${method} ${t} answered ${res.status}, which the document does not list (has ${Object.keys(op.responses).join(', ')})`,
    );
  const mediaType = (res.contentType ?? '').split(';')[0].trim();
  if (!response.content?.[mediaType]) throw new Error(`${method} ${t} ${res.status}: content type ${mediaType} not documented`);
  const pointer = `openapi#/paths/${esc(t)}/${method.toLowerCase()}/responses/${res.status}/content/${esc(mediaType)}/schema`;
  const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
  if (!validate(res.body))
    throw new Error(
      `${method} ${path} ${res.status} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 500)}`,
    );
}

export { doc as openApiDoc };
