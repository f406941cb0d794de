import { createLogger, withFields } from '../../lib/log';

it('withFields writes the lines a child logger writes, and honours the level', () => {
  const viaChild: string[] = [];
  const viaFields: string[] = [];
  const at = (lines: string[]) => createLogger({ level: 'info', base: { component: 'api' }, write: (l) => lines.push(l.replace(/"t":"[^"]+"/, '"t":0')) });
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
