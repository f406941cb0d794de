import { lazyPublisher } from '../../api/wiring';
import { ConfigError, DependencyError, NotAcknowledgedError, ValidationError } from '../../lib/errors';
import type { Publisher } from '../../producers/publisher';

const req = { requestId: 'r1', userId: 'u1', requestedAt: 1, reason: null };

describe('lazyPublisher', () => {
  it('creates the publisher on first use, once, and reuses it', async () => {
    const sent: unknown[] = [];
    let created = 0;
    const fake = {
      requestErasure: (e: unknown) => Promise.resolve(void sent.push(e)),
      close: () => Promise.resolve(),
    } as unknown as Publisher;
    const lazy = lazyPublisher(() => Promise.resolve(fake).finally(() => created++));
    expect(created).toBe(0);
    await lazy.publishErasure(req);
    await lazy.publishErasure({ ...req, requestId: 'r2' });
    expect(created).toBe(1);
    expect(sent).toHaveLength(2);
    await lazy.close();
  });

  it('turns a failed creation (e.g. unregistered schemas) into a retriable DependencyError and retries next time', async () => {
    let attempts = 0;
    const fake = { requestErasure: () => Promise.resolve(), close: () => Promise.resolve() } as unknown as Publisher;
    const lazy = lazyPublisher(() =>
      ++attempts === 1 ? Promise.reject(new ConfigError(['schema not registered'])) : Promise.resolve(fake),
    );
    await expect(lazy.publishErasure(req)).rejects.toBeInstanceOf(DependencyError);
    await expect(lazy.publishErasure(req)).resolves.toBeUndefined();
    expect(attempts).toBe(2);
  });

  it('passes learnstream errors from publishing through and wraps foreign ones', async () => {
    const failing = (err: Error) => ({ requestErasure: () => Promise.reject(err), close: () => Promise.resolve() }) as unknown as Publisher;
    await expect(lazyPublisher(() => Promise.resolve(failing(new ValidationError('bad')))).publishErasure(req)).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(lazyPublisher(() => Promise.resolve(failing(new Error('broker gone')))).publishErasure(req)).rejects.toMatchObject({
      name: 'DependencyError',
      retriable: true,
    });
  });

  it('bounds a call by its budget, producer creation included: past it nothing is sent, even once the producer is there', async () => {
    const sent: { e: unknown; timeoutMs?: number }[] = [];
    const fake = {
      requestErasure: (e: unknown, o: { timeoutMs?: number }) => Promise.resolve(void sent.push({ e, timeoutMs: o.timeoutMs })),
      close: () => Promise.resolve(),
    } as unknown as Publisher;
    let connect!: () => void;
    const lazy = lazyPublisher(() => new Promise<Publisher>((r) => (connect = () => r(fake))), { timeoutMs: 100 });
    const t = performance.now();
    const slow = lazy.publishErasure(req);
    await expect(slow).rejects.toBeInstanceOf(NotAcknowledgedError);
    await expect(slow).rejects.toMatchObject({ inDoubt: false, retriable: true });
    expect(performance.now() - t).toBeLessThan(400);
    connect();
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([]); // the timed-out call is not published late
    await lazy.publishErasure(req); // the next call finds the producer and hands the rest of its budget on
    expect(sent).toHaveLength(1);
    expect(sent[0].timeoutMs).toBeGreaterThan(50);
    expect(sent[0].timeoutMs).toBeLessThanOrEqual(100);
  });
});
