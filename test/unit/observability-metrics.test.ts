import { Registry } from 'prom-client';
import { bindInstrumentation, createInstrumentation, createMetrics, exportedMetricNames, serveMetrics, timed } from '../../lib/metrics';

// `learners`: a gauge counting learners (learnstream_experiment_exposed_learners), which no other unit names.
// `keys`: serving-store keys a rewrite has still to write (learnstream_serving_rebuild_pending_keys).
const NAME = /^learnstream_[a-z]+_[a-z0-9_]+_(seconds|total|messages|requests|ratio|texts|learners|keys)$/;

describe('createMetrics', () => {
  it('names every learnstream metric learnstream_<subsystem>_<name>_<unit> and adds default process metrics', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const names = await exportedMetricNames(registry);
    const own = names.filter((n) => n.startsWith('learnstream_'));
    expect(own.length).toBeGreaterThanOrEqual(15);
    for (const n of own) expect(n).toMatch(NAME);
    expect(names).toEqual(expect.arrayContaining(['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']));
  });

  it('registers only the families a process sets: the API exports no pipeline gauge, the pipeline no HTTP metric', async () => {
    const names = async (roles: ('api' | 'pipeline' | 'learner')[]) => {
      const registry = new Registry();
      createMetrics(registry, { roles, defaultMetrics: false });
      return (await registry.metrics())
        .split('\n')
        .filter((l) => l.startsWith('learnstream_'))
        .map((l) => l.split(/[{ ]/)[0]);
    };
    const api = await names(['api']);
    const pipeline = await names(['pipeline', 'learner']);
    // The item/catalogue process of npm start (lib/config/layout.ts) sets none of the learner stage's families.
    const stages = await names(['pipeline']);
    for (const n of ['learnstream_ranking_rerank_duration_seconds_count', 'learnstream_quality_quiz_auc_ratio'])
      expect(stages).not.toContain(n);
    expect(stages).toEqual([]);
    // Before any event the API exports its in-flight gauge and nothing of the pipeline's (the quiz AUC 0 fired an alert).
    expect(api).toContain('learnstream_http_in_flight_requests');
    for (const n of ['learnstream_quality_quiz_auc_ratio', 'learnstream_ranking_rerank_duration_seconds_count'])
      expect(api).not.toContain(n);
    expect(pipeline).toEqual(expect.arrayContaining(['learnstream_ranking_rerank_duration_seconds_count']));
    expect(pipeline).not.toContain('learnstream_http_in_flight_requests');
    // Nor does the pipeline export a quiz AUC it has not measured yet: a 0 before 100 attempts put the quality alert
    // in pending on every start. The family is there (HELP/TYPE), its sample appears with the first measurement.
    expect(pipeline).not.toContain('learnstream_quality_quiz_auc_ratio');
    const own = new Registry();
    const ownInstr = createInstrumentation();
    bindInstrumentation(ownInstr, createMetrics(own, { roles: ['pipeline', 'learner'], defaultMetrics: false }));
    expect(await own.metrics()).toContain('# TYPE learnstream_quality_quiz_auc_ratio gauge');
    ownInstr.emit('quality.quizAuc', { value: 0.7 });
    expect(await own.metrics()).toContain('learnstream_quality_quiz_auc_ratio 0.7');
    // A family a process does not own swallows its events instead of exporting them.
    const registry = new Registry();
    const instr = createInstrumentation();
    bindInstrumentation(instr, createMetrics(registry, { roles: ['api'], defaultMetrics: false }));
    instr.emit('quality.quizAuc', { value: 0.7 });
    instr.emit('redis.command', { command: 'GET', ok: true, durationMs: 1 });
    const text = await registry.metrics();
    expect(text).not.toContain('learnstream_quality_quiz_auc_ratio');
    expect(text).toContain('learnstream_redis_command_duration_seconds_count{command="get",status="ok"} 1');
  });

  it('is idempotent per registry and independent across registries', () => {
    const a = new Registry();
    expect(createMetrics(a)).toBe(createMetrics(a));
    expect(createMetrics(new Registry())).not.toBe(createMetrics(a));
  });

  it('turns instrumentation events into metric updates, durations converted to seconds', async () => {
    const registry = new Registry();
    const instr = createInstrumentation();
    const off = bindInstrumentation(instr, createMetrics(registry, { defaultMetrics: false }));
    instr.emit('http.request', { method: 'GET', route: '/v1/x', status: 200, durationMs: 3 });
    instr.emit('event.consumed', { topic: 'learning.interactions', type: 'click' });
    instr.emit('event.consumed', { topic: 'learning.interactions', type: 'click' });
    instr.emit('list.written', { freshnessMs: 40 });
    instr.emit('consumer.lag', { group: 'g', topic: 't', partition: 3, lag: 17 });
    instr.emit('deadLetter', { topic: 't', reason: 'schema-mismatch' });
    instr.emit('redis.command', { command: 'GET', durationMs: 0.7, ok: true });
    instr.emit('quality.quizAuc', { value: 0.71 });
    const text = await registry.metrics();
    expect(text).toContain('learnstream_http_request_duration_seconds_sum{method="GET",route="/v1/x",status="200"} 0.003');
    expect(text).toContain('learnstream_pipeline_events_consumed_total{topic="learning.interactions",type="click"} 2');
    expect(text).toContain('learnstream_pipeline_freshness_seconds_bucket{le="0.05",source="personal"} 1');
    expect(text).toContain('learnstream_kafka_consumer_lag_messages{group="g",topic="t",partition="3"} 17');
    expect(text).toContain('learnstream_pipeline_dead_letters_total{topic="t",reason="schema-mismatch"} 1');
    expect(text).toContain('learnstream_redis_command_duration_seconds_count{command="get",status="ok"} 1');
    expect(text).toContain('learnstream_quality_quiz_auc_ratio 0.71');
    off();
    instr.emit('quality.quizAuc', { value: 0.5 });
    expect(await registry.metrics()).toContain('learnstream_quality_quiz_auc_ratio 0.71');
  });

  it('never lets a failing listener break the emitting code', () => {
    const errors: unknown[] = [];
    const instr = createInstrumentation({ onListenerError: (e) => errors.push(e) });
    instr.on('rerank', () => {
      throw new Error('boom');
    });
    expect(() => instr.emit('rerank', { durationMs: 1 })).not.toThrow();
    expect(errors).toHaveLength(1);
  });

  it('timed() reports duration and outcome and passes results and errors through', async () => {
    const seen: boolean[] = [];
    await expect(
      timed(
        () => Promise.resolve(5),
        (_ms, ok) => seen.push(ok),
      ),
    ).resolves.toBe(5);
    await expect(
      timed(
        () => Promise.reject(new Error('x')),
        (_ms, ok) => seen.push(ok),
      ),
    ).rejects.toThrow('x');
    expect(seen).toEqual([true, false]);
  });
});

describe('serveMetrics', () => {
  it('serves the registry at /metrics and closes idempotently', async () => {
    const registry = new Registry();
    createMetrics(registry);
    const server = await serveMetrics(registry, 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toContain('# TYPE learnstream_pipeline_freshness_seconds histogram');
      expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    } finally {
      await server.close();
      await server.close();
    }
  });
});
