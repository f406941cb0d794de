import { createLogger, pseudonymiser, withFields } from '../../lib/log';

it('withFields writes the lines a child logger writes, and honours the level', () => {
  const viaChild: string[] = [];
  const viaFields: string[] = [];
  const at = (lines: string[]) =>
    createLogger({ level: 'info', base: { component: 'api' }, write: (l) => lines.push(l.replace(/"t":"[^"]+"/, '"t":0')) });
  const child = at(viaChild).child({ requestId: 'r1' });
  const flat = withFields(at(viaFields), { requestId: 'r1' });
  for (const log of [child, flat]) {
    log.debug('dropped', { a: 1 });
    log.info('request', { path: '/x', requestId: 'overridden', component: 'also' });
    log.error('failed', { err: new Error('boom') });
    log.child({ stage: 's' }).warn('nested');
  }
  expect(viaFields).toEqual(viaChild);
  expect(viaChild).toHaveLength(3);
  expect(JSON.parse(viaChild[0])).toEqual({ t: 0, level: 'info', msg: 'request', component: 'also', requestId: 'overridden', path: '/x' });
});

it('writes learner ids as keyed pseudonyms: id fields and the id in an API path, never the raw id', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', idSecret: 'secret-1', base: { userId: 'base-learner' }, write: (l) => lines.push(l) });
  log.info('learner erased', { userId: 'alice@example.org' });
  log.warn('re-rank failed', { userIds: ['alice@example.org', 'bob'], other: 'alice@example.org-is-not-an-id-field' });
  withFields(log, { requestId: 'r' }).info('request', {
    path: '/v1/learners/alice%40example.org/recommendations',
    route: '/v1/learners/:userId/recommendations',
  });
  log.child({ stage: 'learner' }).info('child', { userId: 'alice@example.org' });
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const p = pseudonymiser('secret-1')('alice@example.org');
  expect(p).toMatch(/^p:[A-Za-z0-9_-]{16}$/);
  expect(parsed[0]).toMatchObject({ userId: p });
  expect(parsed[1]).toMatchObject({ userIds: [p, pseudonymiser('secret-1')('bob')], userId: pseudonymiser('secret-1')('base-learner') });
  expect(parsed[2].path).toBe(`/v1/learners/${p}/recommendations`);
  expect(parsed[3]).toMatchObject({ userId: p, stage: 'learner' });
  // only the non-id field keeps the string (it is not a learner id by its name); no id field or path carries it raw
  expect(lines.filter((l) => l.includes('alice@example.org') || l.includes('alice%40example.org'))).toEqual([lines[1]]);
  expect(JSON.parse(lines[1]).other).toBe('alice@example.org-is-not-an-id-field');
  // keyed: another secret, another pseudonym; no secret: a per-process one
  expect(pseudonymiser('secret-2')('alice@example.org')).not.toBe(p);
  expect(pseudonymiser()('alice@example.org')).toBe(pseudonymiser('')('alice@example.org'));
});
