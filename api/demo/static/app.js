// The demo page: reads with the public API (read-only key from /demo/config.json), writes through POST /demo/events
// (the server holds the write key), polls both every POLL_MS, and shows how long an action took to change the list.
// Like a platform in an experiment (docs/experiments.md), it posts one impression per resource of each list it shows,
// quoting the list's recommId, and its clicks and completions quote the recommId of the list they were made on.
'use strict';

const POLL_MS = 500;
/** While an action waits for its effect the page polls faster, so the figure it shows is not rounded up to POLL_MS. */
const PENDING_POLL_MS = 150;
const PENDING_GIVE_UP_MS = 10000;
const METRICS_MS = 2000;

const $ = (id) => document.getElementById(id);
const state = {
  cfg: null,
  userId: '',
  list: null,
  knowledge: null,
  /** skill → { mastery, at }: the last change of each skill, shown for a few seconds. */
  deltas: new Map(),
  /** The action waiting for its effect: { label, t0, generatedAt, ids, knowledgeAt }. */
  pending: null,
  lastReadMs: null,
  lastChangeMs: null,
  /** The last /demo/metrics answer, and the pipeline's event rate between the last two. */
  metrics: null,
  eventRate: null,
  timer: null,
  generation: 0,
  /** The goal of the path box ('' = none asked for yet). */
  goal: '',
  /** The recommId whose impressions were posted last, and that post (a click waits for it: impression first). */
  impressed: null,
  impressionPost: Promise.resolve(),
};

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function showBanner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

async function read(path) {
  const t0 = performance.now();
  const res = await fetch(path, { headers: { 'x-api-key': state.cfg.readKey } });
  state.lastReadMs = performance.now() - t0;
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.detail || body.title || ''}`);
  return body;
}

const fmtMs = (ms) =>
  ms === null || ms === undefined ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
const fmtLe = (sec) => (sec === null || sec === undefined ? '–' : sec === '+Inf' ? 'beyond the largest bucket' : `≤ ${fmtMs(sec * 1000)}`);
const pct = (p) => `${Math.round(p * 100)}%`;

/** P(success) is in the API response only inside a right-level reason ("… expected success 73%"). */
function pSuccess(item) {
  for (const r of item.reasons || []) {
    const m = r.code === 'right-level' && /expected success (\d+)%/.exec(r.text);
    if (m) return Number(m[1]) / 100;
  }
  return null;
}

function renderList() {
  const list = state.list;
  $('current-learner').textContent = state.userId;
  if (!list) return;
  const age = list.generatedAt ? `list written ${fmtMs(Date.now() - list.generatedAt)} ago` : 'no personal list yet';
  $('list-status').textContent = `${list.count} items · source ${list.source}${list.fallback ? ' (fallback)' : ''} · ${age}`;
  const mastery = new Map((state.knowledge?.skills || []).map((s) => [s.skill, s.mastery]));
  const before = new Set([...$('items').children].map((li) => li.dataset.resourceId));
  const tpl = $('item-template');
  const items = list.items.map((item) => {
    const li = tpl.content.firstElementChild.cloneNode(true);
    li.dataset.resourceId = item.resourceId;
    if (before.size > 0 && !before.has(item.resourceId)) li.classList.add('fresh');
    li.querySelector('.title').textContent = item.title || item.resourceId;
    li.querySelector('.type').textContent = item.type || 'resource';
    li.querySelector('.source').textContent = item.source;
    const p = pSuccess(item);
    if (p !== null) li.querySelector('.item-head').append(el('span', { className: 'badge psuccess', textContent: `P(success) ${pct(p)}` }));
    const skills = (item.skills || []).map((s) => (mastery.has(s) ? `${s} (your mastery ${pct(mastery.get(s))})` : s));
    li.querySelector('.meta').textContent = [
      `score ${item.score.toFixed(3)}`,
      (item.topics || []).join(', '),
      skills.length ? `skills: ${skills.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    const reasons = li.querySelector('.reasons');
    for (const r of item.reasons) reasons.append(el('li', { textContent: r.text }));
    // A quiz answer needs skills to train: the server attaches the resource's catalogue skills to it.
    if (!(item.skills || []).length) li.querySelectorAll('.quiz').forEach((b) => b.remove());
    return li;
  });
  $('items').replaceChildren(...items);
}

function renderKnowledge() {
  const k = state.knowledge;
  if (!k) return;
  $('knowledge-status').textContent = k.skills.length
    ? `updated ${fmtMs(Date.now() - k.updatedAt)} ago`
    : 'no quiz answers yet: answer a quiz item';
  const now = Date.now();
  const rows = k.skills.map((s) => {
    const d = state.deltas.get(s.skill);
    const change =
      d && now - d.at < 5000 && d.by !== 0
        ? el('span', { className: d.by > 0 ? 'up' : 'down', textContent: ` ${d.by > 0 ? '▲' : '▼'}${Math.abs(Math.round(d.by * 100))}` })
        : null;
    const bar = el('span', { className: 'bar' }, el('i'));
    bar.firstChild.style.width = pct(s.mastery);
    return el(
      'tr',
      { title: `uncertainty ${s.uncertainty.toFixed(2)} logits` },
      el('td', { textContent: s.skill }),
      el('td', {}, bar, pct(s.mastery), change),
      el('td', { textContent: String(s.attempts) }),
    );
  });
  $('skills').replaceChildren(...rows);
}

function noteKnowledge(next) {
  const prev = new Map((state.knowledge?.skills || []).map((s) => [s.skill, s.mastery]));
  if (state.knowledge && state.knowledge.userId === next.userId) {
    for (const s of next.skills) {
      const by = s.mastery - (prev.get(s.skill) ?? 0.5);
      if (Math.abs(by) > 1e-9 && prev.get(s.skill) !== s.mastery) state.deltas.set(s.skill, { by, at: Date.now() });
    }
  }
  state.knowledge = next;
}

/** Did the list or the knowledge change since the pending action was sent? */
function settle() {
  const p = state.pending;
  if (!p) return;
  const elapsed = performance.now() - p.t0;
  const ids = state.list.items.map((i) => i.resourceId).join(',');
  const listChanged = state.list.generatedAt !== p.generatedAt && ids !== p.ids;
  const knowledgeChanged = p.quiz && state.knowledge.updatedAt !== p.knowledgeAt;
  if (listChanged || knowledgeChanged) {
    state.lastChangeMs = elapsed;
    const what = [listChanged ? 'list' : null, knowledgeChanged ? 'knowledge' : null].filter(Boolean).join(' and ');
    $('last-change').textContent = `${what} changed ${fmtMs(elapsed)} after your ${p.label}`;
    state.pending = null;
    renderFigures();
    void planPath().catch((err) => showBanner(`could not plan the path: ${err.message}`));
  } else if (elapsed > PENDING_GIVE_UP_MS) {
    $('last-change').textContent = `no change seen within ${fmtMs(PENDING_GIVE_UP_MS)} of your ${p.label}`;
    state.pending = null;
  }
}

async function poll() {
  const generation = state.generation;
  try {
    const id = encodeURIComponent(state.userId);
    const [list, knowledge] = await Promise.all([
      read(`/v1/learners/${id}/recommendations?limit=10&explain=true`),
      read(`/v1/learners/${id}/knowledge`),
    ]);
    if (generation !== state.generation) return; // the visitor switched learners meanwhile
    noteKnowledge(knowledge);
    state.list = list;
    renderList();
    noteImpressions();
    renderKnowledge();
    settle();
    showBanner('');
  } catch (err) {
    showBanner(`could not read from the API: ${err.message}`);
  }
  if (generation === state.generation) state.timer = setTimeout(poll, state.pending ? PENDING_POLL_MS : POLL_MS);
}

/** Posts the impressions of the list on screen once per recommId (a re-ranked list has a new one). */
function noteImpressions() {
  const list = state.list;
  if (!state.cfg.canWrite || !list || !list.recommId || list.items.length === 0 || state.impressed === list.recommId) return;
  state.impressed = list.recommId;
  const body = { userId: state.userId, action: 'impression', recommId: list.recommId, resourceIds: list.items.map((i) => i.resourceId) };
  state.impressionPost = state.impressionPost
    .then(() => fetch('/demo/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
    .then(async (res) => {
      if (res.status !== 202) {
        const reply = await res.json();
        const problem = reply.collector || reply;
        showBanner(`the impressions were not accepted: ${res.status} ${problem.detail || problem.title || ''}`);
      }
    })
    .catch((err) => showBanner(`could not send the impressions: ${err.message}`));
}

async function act(item, action, label) {
  // Timed from the click, as the visitor sees it: the POST and the collector's Kafka acknowledgement included.
  const t0 = performance.now();
  const body = { userId: state.userId, resourceId: item, action: action.startsWith('answer') ? 'answer' : action };
  if (body.action === 'answer') body.correct = action === 'answer-right';
  else if (state.list?.recommId) body.recommId = state.list.recommId;
  // The impression of the list reaches the collector before the click on it (same learner, same partition: in order).
  await state.impressionPost;
  const res = await fetch('/demo/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const reply = await res.json();
  if (res.status !== 202) {
    // Either this route's own problem (invalid action) or the collector's, passed through.
    const problem = reply.collector || reply;
    showBanner(`the event was not accepted: ${res.status} ${problem.detail || problem.title || ''}`);
    return;
  }
  state.pending = {
    label,
    quiz: body.action === 'answer',
    t0,
    generatedAt: state.list?.generatedAt ?? null,
    ids: (state.list?.items || []).map((i) => i.resourceId).join(','),
    knowledgeAt: state.knowledge?.updatedAt ?? null,
  };
  $('last-change').textContent = `${label} sent (event ${reply.eventId}); waiting for the pipeline…`;
  clearTimeout(state.timer);
  void poll();
}

/**
 * The path box: GET /v1/learners/{id}/path for the typed goal. A goal the API cannot plan (unknown, a prerequisite
 * cycle, no encoder for free text) is said in the box, not as a page error. Re-planned after each settled action,
 * since completing a step or answering a quiz moves the learner along.
 */
async function planPath() {
  const goal = state.goal;
  if (!goal) return;
  const generation = state.generation;
  const id = encodeURIComponent(state.userId);
  $('path-status').textContent = `planning a path to “${goal}”…`;
  const res = await fetch(`/v1/learners/${id}/path?goal=${encodeURIComponent(goal)}&max=10`, {
    headers: { 'x-api-key': state.cfg.readKey },
  });
  const body = await res.json();
  if (generation !== state.generation || goal !== state.goal) return;
  if (!res.ok) {
    const cycle = body.cycle ? `: ${body.cycle.join(' → ')}` : '';
    $('path-status').textContent = `no path: ${body.detail || body.title || res.status}${cycle}`;
    $('path-steps').replaceChildren();
    return;
  }
  $('path-status').textContent =
    body.status === 'goal-mastered'
      ? body.reason
      : `${body.totalSteps} step${body.totalSteps === 1 ? '' : 's'}${body.truncated ? ' (first 10 shown)' : ''} · mastered at P(success) ≥ ${pct(body.masteryThreshold)}`;
  const steps = body.steps.map((s) =>
    el(
      'li',
      { className: s.reason.code === 'goal' ? 'goal' : '', title: s.reason.text },
      s.title || s.resourceId,
      el('span', {
        className: 'muted small',
        textContent: ` · ${s.reason.code}${s.pSuccess === null ? '' : ` · P(success) ${pct(s.pSuccess)}`}`,
      }),
    ),
  );
  $('path-steps').replaceChildren(...steps);
}

/** The panel: the last /demo/metrics answer plus this page's own figures, re-rendered when either changes. */
function renderFigures() {
  const m = state.metrics;
  if (!m) return;
  const rows = [];
  const add = (k, v) => rows.push(el('dt', { textContent: k }), el('dd', { textContent: v }));
  const pl = m.pipeline;
  if (pl) {
    const f = pl.freshness;
    add(
      'event → list written',
      f.count ? `median ${fmtLe(f.p50LeSec)}, p95 ${fmtLe(f.p95LeSec)} (${f.count} lists)` : 'no personal list written yet',
    );
    add('re-rank per learner', pl.rerank.count ? `median ${fmtLe(pl.rerank.p50LeSec)}, p95 ${fmtLe(pl.rerank.p95LeSec)}` : '–');
    add('events consumed', `${pl.eventsConsumed}${state.eventRate === null ? '' : `, ${state.eventRate.toFixed(1)}/s now`}`);
    add('lists written', String(pl.listsWritten));
  } else {
    add('pipeline', m.error || 'unavailable');
  }
  const r = m.api.recommendations;
  add('API recommendations', r.count ? `median ${fmtLe(r.p50LeSec)}, p95 ${fmtLe(r.p95LeSec)} (server, ${r.count} reads)` : '–');
  add('this page’s last read', fmtMs(state.lastReadMs));
  add('your action → change', fmtMs(state.lastChangeMs));
  $('figures').replaceChildren(...rows);
}

async function pollMetrics() {
  try {
    const res = await fetch('/demo/metrics');
    if (res.ok) {
      const m = await res.json();
      const prev = state.metrics?.pipeline;
      state.eventRate =
        prev && m.pipeline && m.scrapedAt > state.metrics.scrapedAt
          ? (m.pipeline.eventsConsumed - prev.eventsConsumed) / ((m.scrapedAt - state.metrics.scrapedAt) / 1000)
          : null;
      state.metrics = m;
      renderFigures();
    }
  } catch (err) {
    showBanner(`could not read the metrics: ${err.message}`);
  }
  setTimeout(pollMetrics, METRICS_MS);
}

function selectLearner(userId) {
  if (!userId) return;
  state.generation++;
  clearTimeout(state.timer);
  Object.assign(state, { userId, list: null, knowledge: null, pending: null, lastChangeMs: null, impressed: null });
  state.deltas.clear();
  $('items').replaceChildren();
  $('skills').replaceChildren();
  $('list-status').textContent = 'loading…';
  $('last-change').textContent = '';
  if (location.hash !== `#${encodeURIComponent(userId)}`) history.replaceState(null, '', `#${encodeURIComponent(userId)}`);
  $('current-learner').textContent = userId;
  $('path-steps').replaceChildren();
  void poll();
  void planPath().catch((err) => showBanner(`could not plan the path: ${err.message}`));
}

async function main() {
  const res = await fetch('/demo/config.json');
  if (!res.ok) {
    showBanner(`the demo is not available: ${(await res.json()).detail || res.status}`);
    return;
  }
  state.cfg = await res.json();
  const select = $('learner-select');
  select.replaceChildren(...state.cfg.learners.map((id) => el('option', { value: id, textContent: id })));
  const fromHash = decodeURIComponent(location.hash.slice(1));
  select.addEventListener('change', () => {
    $('learner-input').value = '';
    selectLearner(select.value);
  });
  $('learner-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const typed = $('learner-input').value.trim();
    selectLearner(typed || select.value);
  });
  $('items').addEventListener('click', (e) => {
    const button = e.target.closest('button[data-action]');
    if (!button) return;
    const li = button.closest('li.item');
    button.disabled = true;
    act(li.dataset.resourceId, button.dataset.action, button.textContent.trim().toLowerCase())
      .catch((err) => showBanner(`could not send the event: ${err.message}`))
      .finally(() => (button.disabled = false));
  });
  $('path-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.goal = $('goal-input').value.trim();
    void planPath().catch((err) => showBanner(`could not plan the path: ${err.message}`));
  });
  if (!state.cfg.canWrite) showBanner('this server has no write key for the demo: the list is read-only');
  if (fromHash && !state.cfg.learners.includes(fromHash)) $('learner-input').value = fromHash;
  else if (fromHash) select.value = fromHash;
  selectLearner(fromHash || state.cfg.learners[0]);
  void pollMetrics();
}

main().catch((err) => showBanner(`the demo failed to start: ${err.message}`));
